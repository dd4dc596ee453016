package lora

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFileRoundTrip(t *testing.T) {
	for _, c := range []Config{{R: 8, Alpha: 16}, {R: 3, Alpha: 0.5, Dropout: 0.1, UseRSLoRA: true, Init: GaussianInit}} {
		fields, err := encodeConfig(c)
		require.NoError(t, err)
		fields["peft_type"] = "LORA"
		fields["target_modules"] = []string{"query"}
		data, err := json.Marshal(fields)
		require.NoError(t, err)
		got, _, _, err := peft.ParseAdapterConfig(data)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	_, err := encodeConfig(struct{ peft.Config }{})
	assert.ErrorIs(t, err, peft.ErrInvalidConfig)
}

func TestState(t *testing.T) {
	a, err := New(linear.New[float32](6, 4), Config{R: 2, Alpha: 2}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	s, ok := state(a)
	require.True(t, ok)
	assert.Equal(t, a.Config, s.Config)
	assert.Same(t, a.A, s.Params["lora_A.weight"])
	assert.Same(t, a.B, s.Params["lora_B.weight"])
	assert.Equal(t, []int{2, 6}, a.A.Shape(), "PEFT's lora_A.weight is r×in_features")
	assert.Equal(t, []int{4, 2}, a.B.Shape(), "PEFT's lora_B.weight is out_features×r")
	_, ok = state(nil)
	assert.False(t, ok)
}
