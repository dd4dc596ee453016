package oft

import (
	"encoding/json"
	"fmt"
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
		fields["peft_version"] = peft.PEFTVersion
		data, err := json.Marshal(fields)
		require.NoError(t, err)
		got, _, _, err := peft.ParseAdapterConfig(data)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	_, err := encodeConfig(struct{ peft.Config }{})
	assert.ErrorIs(t, err, peft.ErrInvalidConfig)
}

// TestNeumannVersions checks that a Neumann file is read only where PEFT's series is the one this
// package computes: from PEFT 0.18 on, or with fewer than 3 terms (where the old series agrees).
func TestNeumannVersions(t *testing.T) {
	tests := []struct {
		name, version string
		terms         int
		refused       string // "" when the file loads
	}{
		{"0.21 with 5 terms", `"0.21.2"`, 5, ""},
		{"0.18 dev with 5 terms", `"0.18.0.dev0@abc"`, 5, ""},
		{"1.0 with 5 terms", `"1.0.0"`, 5, ""},
		{"no version with 5 terms", `null`, 5, "no peft_version, so it was written by PEFT before 0.18"},
		{"0.17 with 3 terms", `"0.17.1"`, 3, "peft_version 0.17.1"},
		{"unreadable version", `"unknown"`, 4, "peft_version unknown"},
		{"no version with 2 terms", `null`, 2, ""},
		{"one term", `"0.21.2"`, 1, "num_cayley_neumann_terms = 1"},
		{"zero terms", `"0.21.2"`, 0, "num_cayley_neumann_terms = 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := fmt.Sprintf(`{"peft_type":"OFT","target_modules":["q"],"oft_block_size":4,"use_cayley_neumann":true,"num_cayley_neumann_terms":%d,"peft_version":%s}`, tt.terms, tt.version)
			c, _, _, err := peft.ParseAdapterConfig([]byte(data))
			if tt.refused == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.terms, c.(Config).NumCayleyNeumannTerms)
				return
			}
			require.ErrorIs(t, err, peft.ErrUnsupported)
			assert.Contains(t, err.Error(), tt.refused)
		})
	}
	// Without the series the version does not matter.
	_, _, _, err := peft.ParseAdapterConfig([]byte(`{"peft_type":"OFT","target_modules":["q"],"oft_block_size":4,"use_cayley_neumann":false}`))
	assert.NoError(t, err)
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

// TestAdjustToLayer checks PEFT's per-layer adjustment of r and oft_block_size
// (OFTLayer.adjust_oft_parameters): the nearest divisor of in_features, the lower one on a tie.
func TestAdjustToLayer(t *testing.T) {
	tests := []struct {
		c      Config
		in     int
		blocks int // rows of R
		b      int
	}{
		{Config{BlockSize: 6}, 32, 8, 4},   // PEFT: "Adjusted oft_block_size to (4)"
		{Config{BlockSize: 6}, 64, 16, 4},  // 4 and 8 are as near: the lower
		{Config{BlockSize: 7}, 64, 8, 8},   // 8 is nearer
		{Config{BlockSize: 40}, 32, 1, 32}, // above in_features: in_features
		{Config{R: 5}, 32, 4, 8},           // r 5 → 4
		{Config{BlockSize: 8}, 32, 4, 8},   // dividing: unchanged
	}
	for _, tt := range tests {
		tt.c.AdjustToLayer = true
		a, err := New(linear.New[float32](tt.in, 3), tt.c, rand.New(rand.NewPCG(1, 1)))
		require.NoError(t, err, "%+v in %d", tt.c, tt.in)
		assert.Equal(t, []int{tt.blocks, tt.b * (tt.b - 1) / 2}, a.R.Shape(), "%+v in %d", tt.c, tt.in)
		tt.c.AdjustToLayer = false
		if tt.c.BlockSize != 8 {
			_, err = New(linear.New[float32](tt.in, 3), tt.c, rand.New(rand.NewPCG(1, 1)))
			assert.ErrorIs(t, err, peft.ErrInvalidConfig, "without AdjustToLayer the choice is refused")
		}
	}
}
