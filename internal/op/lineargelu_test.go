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

func TestLinearGELUGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	x := gradcheck.Random(rng, 6, 5)
	w := gradcheck.Random(rng, 7, 5)
	b := gradcheck.Random(rng, 7, 1)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(LinearGELU(x, w, b), 12) }, 1e-6, x, w, b)
}

// TestLinearGELUMatchesUnfused checks float32 values and gradients, on a product large enough for
// the element-wise work to be split, bit for bit against GELU(Linear(x, w, b)).
func TestLinearGELUMatchesUnfused(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	const n, in, out = 40, 24, 600 // n·out > 2·elementWork
	random := func(rows, cols int) *mat.Dense[float32] { return randomDense32(rng, rows, cols) }
	x, w, b := random(n, in), random(out, in), random(out, 1)
	upstream := random(n, out)
	run := func(f func() mat.Tensor) (y []float32, grads [][]float32) {
		x.ZeroGrad()
		w.ZeroGrad()
		b.ZeroGrad()
		node := f()
		node.AccGrad(upstream)
		require.NoError(t, ag.Backward(node))
		for _, p := range []*mat.Dense[float32]{x, w, b} {
			grads = append(grads, p.Grad().Data().F32())
		}
		return node.Value().Data().F32(), grads
	}
	y, grads := run(func() mat.Tensor { return LinearGELU(x, w, b) })
	wantY, wantGrads := run(func() mat.Tensor { return GELU(Linear(x, w, b)) })
	assert.Equal(t, wantY, y)
	assert.Equal(t, wantGrads, grads)
}

func TestLinearGELUFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	x := gradcheck.Random(rng, 3, 4)
	w, b := gradcheck.Random(rng, 5, 4), gradcheck.Random(rng, 5, 1)
	w.SetRequiresGrad(false)
	b.SetRequiresGrad(false)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(LinearGELU(x, w, b), 14) }, 1e-6, x)
	assert.False(t, w.HasGrad())
	assert.False(t, b.HasGrad())
}
