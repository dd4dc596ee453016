package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// LinearGELU returns GELU(x·wᵀ + b), the feed-forward expansion of a BERT layer, as one node: the
// values and gradients are those of GELU(Linear(x, w, b)), bit for bit, without the n×out
// pre-activation node, its gradient and the goroutine spago runs for each node's backward.
func LinearGELU(x, w, b mat.Tensor) mat.Tensor {
	n, in := Dims(x)
	out, win := Dims(w)
	MustShape(in == win, "LinearGELU: x is %d×%d, w is %d×%d", n, in, out, win)
	MustShape(b.Value().Size() == out, "LinearGELU: bias has %d elements, w has %d rows", b.Value().Size(), out)
	return Build(x,
		func() ag.AutoGradFunction { return &linearGELU[float32]{x: x, w: w, b: b} },
		func() ag.AutoGradFunction { return &linearGELU[float64]{x: x, w: w, b: b} })
}

type linearGELU[T float.DType] struct {
	x, w, b mat.Tensor
	dydz    []T // GELU'(x·wᵀ + b), kept by Forward when an operand requires gradients
}

func (f *linearGELU[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.w, f.b} }

func (f *linearGELU[T]) Forward() (mat.Tensor, error) {
	n, in := Dims(f.x)
	out, _ := Dims(f.w)
	y := outputBuffer[T](n * out) // every row: the bias, then the product added
	bias := Values[T](f.b)
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], bias)
	}
	WeightProduct(false, true, n, out, in, Values[T](f.x), in, f.w, 1, y, out)
	if f.x.RequiresGrad() || f.w.RequiresGrad() || f.b.RequiresGrad() {
		f.dydz = make([]T, len(y))
	}
	Parallel(len(y), elementWork, func(from, to int) {
		var d []T
		if f.dydz != nil {
			d = f.dydz[from:to]
		}
		geluInto(y[from:to], d, y[from:to])
	})
	return NewDense(n, out, y), nil
}

// Backward: with G the upstream gradient, ∂L/∂z = G⊙GELU'(z) and then the linear layer's
// gradients: ∂L/∂x = ∂z·w, ∂L/∂w = ∂zᵀ·x, ∂L/∂b = Σ_rows ∂z.
func (f *linearGELU[T]) Backward(gy mat.Tensor) error {
	n, _ := Dims(f.x)
	out, _ := Dims(f.w)
	g := Values[T](gy)
	gz := gradBuffer[T](n*out, false)
	Parallel(len(gz), elementWork, func(from, to int) {
		mulVec(gz[from:to], g[from:to], f.dydz[from:to])
	})
	linearBackward(f.x, f.w, f.b, gz)
	release(gz) // scratch: linearBackward hands on only products of it
	return nil
}
