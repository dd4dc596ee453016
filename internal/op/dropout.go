package op

import (
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// Dropout zeroes each element of x with probability p, drawn from rng (a *rand.Rand or any
// rand.Source: see DropoutMask), and scales the others by 1/(1−p) (inverted dropout, as PyTorch
// in training mode). p must be in [0, 1).
func Dropout(x mat.Tensor, p float64, rng rand.Source) mat.Tensor {
	MustShape(p >= 0 && p < 1, "Dropout: probability %g outside [0, 1)", p)
	return Build(x,
		func() ag.AutoGradFunction { return &dropout[float32]{x: x, p: p, rng: rng} },
		func() ag.AutoGradFunction { return &dropout[float64]{x: x, p: p, rng: rng} })
}

type dropout[T float.DType] struct {
	x    mat.Tensor
	p    float64
	rng  rand.Source
	mask []T // 0 or 1/(1−p) per element
}

func (f *dropout[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *dropout[T]) Forward() (mat.Tensor, error) {
	x := Values[T](f.x)
	f.mask = DropoutMask[T](len(x), f.p, f.rng)
	y := make([]T, len(x))
	for i, v := range x {
		if m := f.mask[i]; m != 0 { // not v·0, which is −0 or NaN for some v
			y[i] = v * m
		}
	}
	return mat.NewDense[T](mat.WithShape(f.x.Value().Shape()...), mat.WithBacking(y)), nil
}

func (f *dropout[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	g := Values[T](gy)
	gx := gradBuffer[T](len(g), false)
	for i, m := range f.mask {
		gx[i] = g[i] * m
	}
	accGrad(f.x, gx)
	return nil
}
