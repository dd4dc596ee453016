package op

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddLayerNormGradients(t *testing.T) {
	for _, p := range []float64{0, 0.3} {
		rng := rand.New(rand.NewPCG(15, 15))
		a, x := gradcheck.Random(rng, 5, 6), gradcheck.Random(rng, 5, 6)
		gain, bias := gradcheck.Random(rng, 6, 1), gradcheck.Random(rng, 6, 1)
		loss := func() mat.Tensor {
			drop := rand.New(rand.NewPCG(16, 16)) // the same mask in every evaluation
			return gradcheck.Projection(AddLayerNorm(a, x, gain, bias, 1e-3, p, drop), 16)
		}
		gradcheck.Check(t, loss, 1e-6, a, x, gain, bias)
	}
}

func TestAddLayerNormFrozenGain(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	a, x := gradcheck.Random(rng, 3, 4), gradcheck.Random(rng, 3, 4)
	x.SetRequiresGrad(false)
	gain := NewDense(4, 1, []float64{1, 2, 3, 4})
	bias := NewDense(4, 1, []float64{0, 0, 1, 0})
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(AddLayerNorm(a, x, gain, bias, 1e-12, 0, nil), 18) }, 1e-6, a)
	assert.False(t, x.HasGrad())
	assert.False(t, gain.HasGrad())
}

// TestAddLayerNormMatchesUnfused checks float32 values and gradients, with enough rows for the
// work to be split, bit for bit against LayerNorm(ag.Add(Dropout(a), x)), with the dropout mask
// drawn from the same generator state.
func TestAddLayerNormMatchesUnfused(t *testing.T) {
	for _, p := range []float64{0, 0.1} {
		rng := rand.New(rand.NewPCG(19, 19))
		const n, d = 3*rowWork + 5, 24
		random := func(rows, cols int) *mat.Dense[float32] { return randomDense32(rng, rows, cols) }
		a, x, gain, bias := random(n, d), random(n, d), random(d, 1), random(d, 1)
		upstream := random(n, d)
		inputs := []*mat.Dense[float32]{a, x, gain, bias}
		run := func(f func(drop *rand.Rand) mat.Tensor) (y []float32, grads [][]float32) {
			for _, in := range inputs {
				in.ZeroGrad()
			}
			node := f(rand.New(rand.NewPCG(20, 20)))
			node.AccGrad(upstream)
			require.NoError(t, ag.Backward(node))
			for _, in := range inputs {
				grads = append(grads, in.Grad().Data().F32())
			}
			return node.Value().Data().F32(), grads
		}
		y, grads := run(func(drop *rand.Rand) mat.Tensor { return AddLayerNorm(a, x, gain, bias, 1e-12, p, drop) })
		wantY, wantGrads := run(func(drop *rand.Rand) mat.Tensor {
			dropped := mat.Tensor(a)
			if p > 0 {
				dropped = Dropout(a, p, drop)
			}
			return LayerNorm(ag.Add(dropped, x), gain, bias, 1e-12)
		})
		assert.Equal(t, wantY, y, "p = %g", p)
		assert.Equal(t, wantGrads, grads, "p = %g", p)
	}
}
