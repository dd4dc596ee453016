package oft

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
	for _, c := range []Config{
		{BlockSize: 4},
		{R: 3, ModuleDropout: 0.1, COFT: true, Eps: 1e-3, BlockShare: true, UseCayleyNeumann: true, NumCayleyNeumannTerms: 7},
	} {
		fields, err := encodeConfig(c)
		require.NoError(t, err)
		fields["peft_type"] = "OFT"
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
	for _, c := range []struct {
		cfg   Config
		shape []int
	}{{Config{BlockSize: 4}, []int{3, 6}}, {Config{BlockSize: 4, BlockShare: true}, []int{1, 6}}} {
		a, err := New(linear.New[float32](12, 5), c.cfg, rand.New(rand.NewPCG(1, 1)))
		require.NoError(t, err)
		s, ok := state(a)
		require.True(t, ok)
		assert.Equal(t, c.cfg, s.Config)
		assert.Same(t, a.R, s.Params["oft_R.weight"])
		assert.Equal(t, c.shape, a.R.Shape(), "PEFT's oft_R.weight is blocks×b(b−1)/2")
	}
	_, ok := state(nil)
	assert.False(t, ok)
}
