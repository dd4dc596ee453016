package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// Gather returns the rows of x (n×d) listed in rows, in that order, as a len(rows)×d matrix: an
// embedding lookup when x is a table, or the selection of some tokens. Its backward adds each
// output row's gradient to the row it came from and touches no other row.
func Gather(x mat.Tensor, rows []int) mat.Tensor {
	n, d := Dims(x)
	for _, r := range rows {
		MustShape(r >= 0 && r < n, "Gather: row %d of a %d×%d matrix", r, n, d)
	}
	return Build(x,
		func() ag.AutoGradFunction { return &gather[float32]{x: x, rows: rows} },
		func() ag.AutoGradFunction { return &gather[float64]{x: x, rows: rows} })
}

type gather[T float.DType] struct {
	x    mat.Tensor
	rows []int
}

func (f *gather[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *gather[T]) Forward() (mat.Tensor, error) {
	_, d := Dims(f.x)
	x := Values[T](f.x)
	y := outputBuffer[T](len(f.rows) * d) // every row copied into it
	for i, r := range f.rows {
		copy(y[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	return NewDense(len(f.rows), d, y), nil
}

func (f *gather[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	n, d := Dims(f.x)
	g := Values[T](gy)
	gx := gradBuffer[T](n*d, true)
	for i, r := range f.rows {
		dst := gx[r*d : (r+1)*d]
		for j, v := range g[i*d : (i+1)*d] {
			dst[j] += v
		}
	}
	accGrad(f.x, gx)
	return nil
}
