package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// ConcatRows stacks matrices of the same width one under the other, in order: the results of
// parts of a batch computed apart put back together. Its backward hands each part its rows of
// the gradient.
func ConcatRows(xs ...mat.Tensor) mat.Tensor {
	MustShape(len(xs) > 0, "ConcatRows: no matrices")
	_, d := Dims(xs[0])
	for i, x := range xs {
		_, c := Dims(x)
		MustShape(c == d, "ConcatRows: matrix %d has %d columns, the first %d", i, c, d)
	}
	return Build(xs[0],
		func() ag.AutoGradFunction { return &concatRows[float32]{xs: xs} },
		func() ag.AutoGradFunction { return &concatRows[float64]{xs: xs} })
}

type concatRows[T float.DType] struct {
	xs []mat.Tensor
}

func (f *concatRows[T]) Operands() []mat.Tensor { return f.xs }

func (f *concatRows[T]) Forward() (mat.Tensor, error) {
	rows, d := 0, 0
	for _, x := range f.xs {
		n, c := Dims(x)
		rows, d = rows+n, c
	}
	y := outputBuffer[T](rows * d) // every part copied into it, in order
	at := 0
	for _, x := range f.xs {
		at += copy(y[at:], Values[T](x))
	}
	return NewDense(rows, d, y), nil
}

func (f *concatRows[T]) Backward(gy mat.Tensor) error {
	g := Values[T](gy)
	for _, x := range f.xs {
		n, d := Dims(x)
		if x.RequiresGrad() {
			gx := gradBuffer[T](n*d, false)
			copy(gx, g[:n*d])
			accGrad(x, gx)
		}
		g = g[n*d:]
	}
	return nil
}
