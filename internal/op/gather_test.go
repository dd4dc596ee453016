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

func TestGather(t *testing.T) {
	table := NewDense(4, 2, []float32{0, 1, 10, 11, 20, 21, 30, 31})
	y := Gather(table, []int{2, 0, 2})
	assert.Equal(t, []int{3, 2}, y.Value().Shape())
	assert.Equal(t, []float32{20, 21, 0, 1, 20, 21}, y.Value().Data().F32())
}

func TestGatherGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	x := gradcheck.Random(rng, 5, 3)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(Gather(x, []int{4, 1, 4, 0}), 8) }, 1e-6, x)
}

func TestGatherBackwardTouchesUsedRowsOnly(t *testing.T) {
	x := mat.NewDense[float64](mat.WithShape(3, 2), mat.WithGrad(true))
	y := Gather(x, []int{1, 1})
	y.AccGrad(NewDense(2, 2, []float64{1, 2, 3, 4}))
	require.NoError(t, ag.Backward(y))
	assert.Equal(t, []float64{0, 0, 4, 6, 0, 0}, x.Grad().Data().F64())
}

func TestGatherFrozenTable(t *testing.T) {
	table := NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})
	y := Gather(table, []int{0})
	assert.False(t, y.RequiresGrad())
}
