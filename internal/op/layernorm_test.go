package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

func TestLayerNormValues(t *testing.T) {
	x := NewDense(2, 4, []float64{1, 2, 3, 4, -1, -1, -1, -1})
	gain := NewDense(4, 1, []float64{1, 2, 1, 1})
	bias := NewDense(4, 1, []float64{0, 0, 0, 0.5})
	y := LayerNorm(x, gain, bias, 1e-5).Value().Data().F64()
	// Row 1: mean 2.5, biased variance 1.25.
	s := 1 / math.Sqrt(1.25+1e-5)
	assert.InDeltaSlice(t, []float64{-1.5 * s, -0.5 * s * 2, 0.5 * s, 1.5*s + 0.5, 0, 0, 0, 0.5}, y, 1e-12)
}

func TestLayerNormGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := gradcheck.Random(rng, 5, 6)
	gain := gradcheck.Random(rng, 6, 1)
	bias := gradcheck.Random(rng, 6, 1)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(LayerNorm(x, gain, bias, 1e-3), 5) }, 1e-6, x, gain, bias)
}

func TestLayerNormFrozenGain(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := gradcheck.Random(rng, 3, 4)
	gain := mat.NewDense[float64](mat.WithShape(4, 1), mat.WithBacking([]float64{1, 2, 3, 4}))
	bias := mat.NewDense[float64](mat.WithShape(4, 1))
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(LayerNorm(x, gain, bias, 1e-12), 6) }, 1e-6, x)
	assert.False(t, gain.HasGrad())
}
