package op

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDropout(t *testing.T) {
	const n, p = 10000, 0.25
	x := mat.NewDense[float64](mat.WithShape(n, 1), mat.WithGrad(true))
	for i, d := 0, x.Data().F64(); i < n; i++ {
		d[i] = 1
	}
	y := Dropout(x, p, rand.New(rand.NewPCG(1, 2)))
	kept := 0
	for _, v := range y.Value().Data().F64() {
		if v != 0 {
			kept++
			assert.InDelta(t, 1/(1-p), v, 1e-12)
		}
	}
	assert.InDelta(t, (1-p)*n, float64(kept), 150) // ±3.5σ
	y.AccGrad(y.Value().(mat.Matrix).OnesLike())
	require.NoError(t, ag.Backward(y))
	// The gradient passes where the element was kept, with the same scale.
	assert.Equal(t, y.Value().Data().F64(), x.Grad().Data().F64())
}
