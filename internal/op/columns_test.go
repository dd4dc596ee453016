package op

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestColumnSumsIndependentOfCores checks that the gradients summed down columns (LayerNorm's and
// AddLayerNorm's gain and bias, Linear's bias), large enough to be split across goroutines, come
// out bit for bit the same on one core and on several.
func TestColumnSumsIndependentOfCores(t *testing.T) {
	const n, d = 300, 160 // n·d > 2·elementWork
	rng := rand.New(rand.NewPCG(31, 31))
	random := func(rows, cols int) *mat.Dense[float32] { return randomDense32(rng, rows, cols) }
	a, x, gain, bias := random(n, d), random(n, d), random(d, 1), random(d, 1)
	w := random(d, d)
	upstream := random(n, d)
	inputs := []*mat.Dense[float32]{a, x, gain, bias, w}
	tests := []struct {
		name string
		f    func() mat.Tensor
	}{
		{"LayerNorm", func() mat.Tensor { return LayerNorm(x, gain, bias, 1e-12) }},
		{"AddLayerNorm", func() mat.Tensor { return AddLayerNorm(a, x, gain, bias, 1e-12, 0, nil) }},
		{"Linear", func() mat.Tensor { return Linear(x, w, bias) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(procs int) [][]float32 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				for _, in := range inputs {
					in.ZeroGrad()
				}
				node := tt.f()
				node.AccGrad(upstream)
				require.NoError(t, ag.Backward(node))
				var grads [][]float32
				for _, in := range inputs {
					if in.HasGrad() {
						grads = append(grads, append([]float32(nil), in.Grad().Data().F32()...))
					}
				}
				return grads
			}
			assert.Equal(t, run(1), run(2))
		})
	}
}

// randomDense32 returns a rows×cols float32 matrix of standard normal values from rng, which
// requires gradients.
func randomDense32(rng *rand.Rand, rows, cols int) *mat.Dense[float32] {
	v := make([]float32, rows*cols)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	m := NewDense(rows, cols, v)
	m.SetRequiresGrad(true)
	return m
}
