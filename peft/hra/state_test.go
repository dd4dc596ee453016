package hra

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseEncoded encodes c as a PEFT adapter_config.json and parses it back.
func parseEncoded(t *testing.T, c Config) peft.Config {
	t.Helper()
	fields, err := encodeConfig(c)
	require.NoError(t, err)
	fields["peft_type"] = "HRA"
	fields["target_modules"] = []string{"query"}
	data, err := json.Marshal(fields)
	require.NoError(t, err)
	got, _, _, err := peft.ParseAdapterConfig(data)
	require.NoError(t, err)
	return got
}

func TestConfigFileRoundTrip(t *testing.T) {
	for _, c := range []Config{{R: 8}, {R: 2}, {R: 5, Init: RandomInit}, {R: 4, Init: RandomInit}, {R: 3, Init: RandomInit, GS: true}} {
		assert.Equal(t, c, parseEncoded(t, c))
	}
	// λ is the paper's training penalty; PEFT has no key for it.
	assert.Equal(t, Config{R: 4}, parseEncoded(t, Config{R: 4, Lambda: 0.5}))
	_, err := encodeConfig(struct{ peft.Config }{})
	assert.ErrorIs(t, err, peft.ErrInvalidConfig)
}

func TestState(t *testing.T) {
	a, err := New(linear.New[float32](6, 3), Config{R: 2}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	s, ok := state(a)
	require.True(t, ok)
	assert.Equal(t, Config{R: 2}, s.Config)
	require.Len(t, s.Params, 1)
	assert.Same(t, a.U, s.Params["hra_u"])
	assert.Equal(t, []int{6, 2}, s.Params["hra_u"].Shape(), "PEFT's hra_u is in_features×r")
	_, ok = state(nil)
	assert.False(t, ok)
}
