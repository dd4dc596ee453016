package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// Linear returns x·wᵀ + b for row-stacked tokens x (n×in), a weight w (out×in) as stored by
// spago's linear.Model and a bias b of out elements added to every row.
//
// A frozen w (an nn.Param that does not require gradients) is multiplied with
// gemm.GemmCachedB, which packs it once and keeps the packing until its values are written
// through Values (as Merge, Unmerge and the optimiser do); the results are the same, bit for bit.
func Linear(x, w, b mat.Tensor) mat.Tensor {
	n, in := Dims(x)
	out, win := Dims(w)
	MustShape(in == win, "Linear: x is %d×%d, w is %d×%d", n, in, out, win)
	MustShape(b.Value().Size() == out, "Linear: bias has %d elements, w has %d rows", b.Value().Size(), out)
	return Build(x,
		func() ag.AutoGradFunction { return &linear[float32]{x: x, w: w, b: b} },
		func() ag.AutoGradFunction { return &linear[float64]{x: x, w: w, b: b} })
}

type linear[T float.DType] struct {
	x, w, b mat.Tensor
}

func (f *linear[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.w, f.b} }

func (f *linear[T]) Forward() (mat.Tensor, error) {
	n, in := Dims(f.x)
	out, _ := Dims(f.w)
	y := outputBuffer[T](n * out) // every row: the bias, then the product added
	bias := Values[T](f.b)
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], bias)
	}
	WeightProduct(false, true, n, out, in, Values[T](f.x), in, f.w, 1, y, out)
	return NewDense(n, out, y), nil
}

func (f *linear[T]) Backward(gy mat.Tensor) error {
	linearBackward(f.x, f.w, f.b, Values[T](gy))
	return nil
}

// linearBackward accumulates the gradients of y = x·wᵀ + b given g = ∂L/∂y:
// ∂L/∂x = g·w, ∂L/∂w = gᵀ·x, ∂L/∂b = Σ_rows g.
func linearBackward[T float.DType](x, w, b mat.Tensor, g []T) {
	n, in := Dims(x)
	out, _ := Dims(w)
	if x.RequiresGrad() {
		gx := gradBuffer[T](n*in, false)
		WeightProduct(false, false, n, in, out, g, out, w, 0, gx, in)
		accGrad(x, gx)
	}
	if w.RequiresGrad() {
		gw := gradBuffer[T](out*in, false)
		gemm.Gemm(true, false, out, in, n, 1, g, out, Values[T](x), in, 0, gw, in)
		accGrad(w, gw)
	}
	if b.RequiresGrad() {
		gb := gradBuffer[T](out, true)
		for i := 0; i < n; i++ {
			addVec(gb, gb, g[i*out:(i+1)*out])
		}
		accGrad(b, gb)
	}
}

// WeightProduct computes C ← op(A)·op(W) + beta·C for a weight w (out×in, stored row by row), as
// gemm.Gemm with alpha 1: with gemm.GemmCachedB, which keeps w's packing, when w is a frozen
// nn.Param. Operators that multiply by a layer's weight use it, as Linear does.
func WeightProduct[T float.DType](transA, transW bool, m, n, k int, a []T, lda int, w mat.Tensor, beta T, c []T, ldc int) {
	_, ldw := Dims(w)
	if p, ok := w.(*nn.Param); ok && !p.RequiresGrad() {
		// Read without Values, which would drop the packing.
		gemm.GemmCachedB(transA, transW, m, n, k, 1, a, lda, mat.Data[T](w.Value()), ldw, beta, c, ldc)
		return
	}
	gemm.Gemm(transA, transW, m, n, k, 1, a, lda, Values[T](w), ldw, beta, c, ldc)
}
