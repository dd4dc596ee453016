package op

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

func TestMatMulGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, transB := range []bool{false, true} {
		a := gradcheck.Random(rng, 5, 4)
		b := gradcheck.Random(rng, 4, 3)
		if transB {
			b = gradcheck.Random(rng, 3, 4)
		}
		gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(MatMul(a, b, transB), 7) }, 1e-6, a, b)
	}
}

func TestLinearGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := gradcheck.Random(rng, 6, 5)
	w := gradcheck.Random(rng, 4, 5)
	b := gradcheck.Random(rng, 4, 1)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(Linear(x, w, b), 9) }, 1e-6, x, w, b)
}

func TestLinearMatchesSpagoAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := gradcheck.Random(rng, 3, 7)
	w := gradcheck.Random(rng, 4, 7)
	b := gradcheck.Random(rng, 4, 1)
	y := Linear(x, w, b).Value().(mat.Matrix)
	for i := 0; i < 3; i++ {
		want := w.Mul(x.ExtractRow(i).T()).Add(b)
		assert.InDeltaSlice(t, want.Data().F64(), y.ExtractRow(i).Data().F64(), 1e-12)
	}
}

func TestMatMulFloat32(t *testing.T) {
	a := mat.NewDense[float32](mat.WithShape(2, 3), mat.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	b := mat.NewDense[float32](mat.WithShape(3, 2), mat.WithBacking([]float32{1, 0, 0, 1, 1, 1}))
	y := MatMul(a, b, false)
	assert.Equal(t, []float32{4, 5, 10, 11}, y.Value().Data().F32())
}
