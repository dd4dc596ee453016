package op

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

func TestConcatRows(t *testing.T) {
	a := NewDense(1, 2, []float32{1, 2})
	b := NewDense(2, 2, []float32{3, 4, 5, 6})
	y := ConcatRows(a, b)
	assert.Equal(t, []int{3, 2}, y.Value().Shape())
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, y.Value().Data().F32())
	assert.Panics(t, func() { ConcatRows(a, NewDense(1, 3, []float32{1, 2, 3})) })
}

func TestConcatRowsGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	a, b, c := gradcheck.Random(rng, 2, 3), gradcheck.Random(rng, 1, 3), gradcheck.Random(rng, 3, 3)
	frozen := NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(ConcatRows(a, frozen, b, c), 9) }, 1e-6, a, b, c)
}
