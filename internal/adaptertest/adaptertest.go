// Package adaptertest provides the random layers and inputs that the adapters' tests share.
package adaptertest

import (
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn/linear"
)

// Layer returns an out×in linear layer of element type T with weights and bias uniform in ±1.
func Layer[T float.DType](rng *rand.Rand, in, out int) *linear.Model {
	m := linear.New[T](in, out)
	for _, p := range []mat.Matrix{m.W, m.B} {
		d := make([]float64, p.Size())
		for i := range d {
			d[i] = rng.Float64()*2 - 1
		}
		p.SetData(float.Make(d...))
	}
	return m
}

// Rows returns n row-stacked tokens of d features, uniform in ±1.
func Rows[T float.DType](rng *rand.Rand, n, d int) *mat.Dense[T] {
	x := make([]T, n*d)
	for i := range x {
		x[i] = T(rng.Float64()*2 - 1)
	}
	return mat.NewDense[T](mat.WithShape(n, d), mat.WithBacking(x))
}

// MaxAbsDiff returns the largest |a[i] − b[i]|.
func MaxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
