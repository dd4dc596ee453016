package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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

const (
	tinyDebertaV3    = "../bert/testdata/tiny-deberta-v3"
	tinyDebertaProj  = "../bert/testdata/tiny-deberta-proj"
	tinyDebertaPlain = "../bert/testdata/tiny-deberta-plain"
)

// TestDebertaCheckpoints loads the tiny DeBERTa checkpoints transformers wrote: canonical names
// without "deberta.", the pooler and classifier at the top level, the architecture's variants
// taken from each config.
func TestDebertaCheckpoints(t *testing.T) {
	tests := []struct {
		dir        string
		positions  PositionKind
		tokenTypes bool
		activation HeadActivation
		present    []string
	}{
		{tinyDebertaV3, PositionsNone, false, HeadGELU,
			[]string{"encoder.rel_embeddings.weight", "encoder.LayerNorm.weight", "pooler.dense.weight", "classifier.weight"}},
		{tinyDebertaProj, PositionsAbsolute, true, HeadTanh,
			[]string{"embeddings.embed_proj.weight", "embeddings.position_embeddings.weight", "encoder.layer.1.attention.self.pos_key_proj.bias"}},
		{tinyDebertaPlain, PositionsAbsolute, true, HeadReLU,
			[]string{"embeddings.token_type_embeddings.weight", "embeddings.position_embeddings.weight"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			ck, err := LoadDir(tt.dir)
			require.NoError(t, err)
			a := ck.Config.Architecture()
			assert.Equal(t, "deberta-v2", a.ModelType)
			assert.Equal(t, AttentionDisentangled, a.Attention)
			assert.Equal(t, tt.positions, a.Positions)
			assert.Equal(t, tt.tokenTypes, a.TokenTypes)
			assert.Equal(t, tt.activation, a.Head.Activation)
			for _, name := range tt.present {
				assert.NotNil(t, ck.Tensors[name], name)
			}
			assert.True(t, ck.HasClassifier())
			assert.Equal(t, "pooler.dense.weight", a.StoredName("pooler.dense.weight"), "ContextPooler is outside the base model")
			assert.Equal(t, "deberta.encoder.rel_embeddings.weight", a.StoredName("encoder.rel_embeddings.weight"))
		})
	}
}

// TestDebertaCheckpointRefused checks that a DeBERTa checkpoint missing or misshaping one of its
// own tensors, or with a config this package does not run, fails to validate, naming it.
func TestDebertaCheckpointRefused(t *testing.T) {
	tests := []struct {
		name   string
		tensor string // removed, or reshaped when shape is set
		shape  []int
		config func(*Config)
		want   error
	}{
		{name: "no relative embeddings", tensor: "encoder.rel_embeddings.weight", want: ErrNotFound},
		{name: "no LayerNorm of the relative embeddings", tensor: "encoder.LayerNorm.bias", want: ErrNotFound},
		{name: "span of another bucket count", tensor: "encoder.rel_embeddings.weight", shape: []int{32, 16}, want: ErrShapeMismatch},
		{name: "convolution layer", config: func(c *Config) { c.fields["conv_kernel_size"] = []byte("3") }, want: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck, err := LoadDir(tinyDebertaV3)
			require.NoError(t, err)
			if tt.shape != nil {
				ck.Tensors[tt.tensor] = &Tensor{Shape: tt.shape, Data: make([]float32, tt.shape[0]*tt.shape[1])}
			} else if tt.tensor != "" {
				delete(ck.Tensors, tt.tensor)
			}
			if tt.config != nil {
				tt.config(&ck.Config)
			}
			err = ck.Validate()
			require.ErrorIs(t, err, tt.want)
			t.Log(err)
		})
	}
}

// TestDebertaWriteDirRoundTrip writes a DeBERTa checkpoint and reads it back unchanged, under
// transformers' names (WriteDir's config keeps the DeBERTa keys).
func TestDebertaWriteDirRoundTrip(t *testing.T) {
	ck, err := LoadDir(tinyDebertaV3)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, ck))
	again, err := LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, ck.Tensors, again.Tensors)
	d, err := again.Config.Deberta()
	require.NoError(t, err)
	want, err := ck.Config.Deberta()
	require.NoError(t, err)
	assert.Equal(t, want, d)
}

// TestDownloadDeberta fetches a DeBERTa repository, which has spm.model and no vocab.txt:
// config, spm.model, tokenizer_config.json and the weights, then nothing from the cache.
func TestDownloadDeberta(t *testing.T) {
	hub := &fakeHub{repo: "tiny/deberta-v3", revision: "main", files: map[string][]byte{
		SentencePieceFile: []byte("a SentencePiece model"), TokenizerConfigFile: []byte("{}"),
	}}
	for _, name := range []string{ConfigFile, SafetensorsFile} {
		data, err := os.ReadFile(filepath.Join(tinyDebertaV3, name))
		require.NoError(t, err)
		hub.files[name] = data
	}
	opts := DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir()}
	dir, err := Download(context.Background(), "tiny/deberta-v3", opts)
	require.NoError(t, err)
	assert.Equal(t, 4, hub.count(), "%v", hub.requests)
	assert.FileExists(t, filepath.Join(dir, SentencePieceFile))
	_, err = Download(context.Background(), "tiny/deberta-v3", opts)
	require.NoError(t, err)
	assert.Equal(t, 4, hub.count(), "the second download comes from the cache")
}
