package checkpoint

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debertaKeys returns a Config of hidden size 32, 4 heads and 64 positions whose config.json
// keys are those of js.
func debertaKeys(t *testing.T, js string) Config {
	t.Helper()
	c := Config{HiddenSize: 32, NumAttentionHeads: 4, MaxPositionEmbeddings: 64}
	require.NoError(t, json.Unmarshal([]byte(js), &c.fields))
	return c
}

func TestDebertaConfig(t *testing.T) {
	defaults := DebertaConfig{PositionBuckets: -1, MaxRelativePositions: 64, PositionBiasedInput: true, PoolerHiddenAct: "gelu"}
	v3 := DebertaConfig{RelativeAttention: true, PositionBuckets: 256, MaxRelativePositions: 64, C2P: true, P2C: true,
		ShareAttKey: true, NormRelEmbeddings: true, PoolerHiddenAct: "gelu"}
	tests := []struct {
		name string
		js   string
		want DebertaConfig
	}{
		{"defaults", `{}`, defaults},
		{"deberta-v3-base", `{"relative_attention": true, "position_buckets": 256, "max_relative_positions": -1,
			"pos_att_type": ["p2c", "c2p"], "share_att_key": true, "norm_rel_ebd": "layer_norm",
			"position_biased_input": false, "pooler_hidden_size": 32, "pooler_dropout": 0, "pooler_hidden_act": "gelu"}`, v3},
		{"pos_att_type as a string", `{"relative_attention": true, "position_buckets": 256, "pos_att_type": "P2C|c2p",
			"share_att_key": true, "norm_rel_ebd": "layer_norm", "position_biased_input": false}`, v3},
		{"c2p only, explicit span", `{"pos_att_type": ["c2p"], "max_relative_positions": 6, "pooler_hidden_act": "tanh", "pooler_dropout": 0.1}`,
			DebertaConfig{PositionBuckets: -1, MaxRelativePositions: 6, C2P: true, PositionBiasedInput: true, PoolerHiddenAct: "tanh", PoolerDropout: 0.1}},
		{"null pos_att_type", `{"pos_att_type": null}`, defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := debertaKeys(t, tt.js).Deberta()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDebertaConfigRefused(t *testing.T) {
	tests := []struct {
		name, js string
		want     error
	}{
		{"convolution layer", `{"conv_kernel_size": 3}`, ErrUnsupported},
		{"unknown term", `{"pos_att_type": ["p2p"]}`, ErrUnsupported},
		{"pos_att_type of numbers", `{"pos_att_type": 3}`, ErrCorrupt},
		{"norm_rel_ebd", `{"norm_rel_ebd": "batch_norm"}`, ErrUnsupported},
		{"pooler width", `{"pooler_hidden_size": 16}`, ErrUnsupported},
		{"head size", `{"attention_head_size": 16}`, ErrUnsupported},
		{"pooler activation", `{"pooler_hidden_act": "swish"}`, ErrUnsupported},
		{"pooler dropout", `{"pooler_dropout": 1}`, ErrCorrupt},
		{"wrong type", `{"share_att_key": "yes"}`, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := debertaKeys(t, tt.js).Deberta()
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
			t.Log(err)
		})
	}
}
