package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// MatMul returns a·b, or a·bᵀ when transB is set.
func MatMul(a, b mat.Tensor, transB bool) mat.Tensor {
	ar, ac := Dims(a)
	br, bc := Dims(b)
	if transB {
		MustShape(ac == bc, "MatMul: a is %d×%d, bᵀ is %d×%d", ar, ac, bc, br)
	} else {
		MustShape(ac == br, "MatMul: a is %d×%d, b is %d×%d", ar, ac, br, bc)
	}
	return Build(a,
		func() ag.AutoGradFunction { return &matMul[float32]{a: a, b: b, transB: transB} },
		func() ag.AutoGradFunction { return &matMul[float64]{a: a, b: b, transB: transB} })
}

type matMul[T float.DType] struct {
	a, b   mat.Tensor
	transB bool
}

func (f *matMul[T]) Operands() []mat.Tensor { return []mat.Tensor{f.a, f.b} }

// shape returns m, n, k of the product a (m×k) · op(b) (k×n).
func (f *matMul[T]) shape() (m, n, k int) {
	m, k = Dims(f.a)
	br, bc := Dims(f.b)
	if f.transB {
		return m, br, k
	}
	return m, bc, k
}

func (f *matMul[T]) Forward() (mat.Tensor, error) {
	m, n, k := f.shape()
	y := outputBuffer[T](m * n) // written by a product with beta 0, which does not read it
	_, ldb := Dims(f.b)
	gemm.Gemm(false, f.transB, m, n, k, 1, Values[T](f.a), k, Values[T](f.b), ldb, 0, y, n)
	return NewDense(m, n, y), nil
}

func (f *matMul[T]) Backward(gy mat.Tensor) error {
	m, n, k := f.shape()
	g := Values[T](gy)
	_, ldb := Dims(f.b)
	if f.a.RequiresGrad() {
		// dA = G·op(B)ᵀ
		ga := gradBuffer[T](m*k, false)
		gemm.Gemm(false, !f.transB, m, k, n, 1, g, n, Values[T](f.b), ldb, 0, ga, k)
		accGrad(f.a, ga)
	}
	if f.b.RequiresGrad() {
		if f.transB {
			// d(Bᵀ) = Aᵀ·G, so dB = Gᵀ·A (n×k).
			gb := gradBuffer[T](n*k, false)
			gemm.Gemm(true, false, n, k, m, 1, g, n, Values[T](f.a), k, 0, gb, k)
			accGrad(f.b, gb)
		} else {
			gb := gradBuffer[T](k*n, false)
			gemm.Gemm(true, false, k, n, m, 1, Values[T](f.a), k, g, n, 0, gb, n)
			accGrad(f.b, gb)
		}
	}
	return nil
}
