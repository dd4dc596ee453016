package op

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// activation names an element-wise function.
type activation int

const (
	gelu     activation = iota // x·Φ(x), Φ the standard normal CDF, by erf
	geluTanh                   // the tanh approximation of GELU
	tanh
	relu
)

// GELU returns x·Φ(x) element-wise, with Φ computed from erf: PyTorch's exact GELU, "gelu" in
// Hugging Face configs.
func GELU(x mat.Tensor) mat.Tensor { return activate(x, gelu) }

// GELUTanh returns ½x(1 + tanh(√(2/π)(x + 0.044715x³))) element-wise: "gelu_new" and
// "gelu_pytorch_tanh" in Hugging Face configs.
func GELUTanh(x mat.Tensor) mat.Tensor { return activate(x, geluTanh) }

// Tanh returns tanh(x) element-wise.
func Tanh(x mat.Tensor) mat.Tensor { return activate(x, tanh) }

// ReLU returns max(x, 0) element-wise.
func ReLU(x mat.Tensor) mat.Tensor { return activate(x, relu) }

func activate(x mat.Tensor, kind activation) mat.Tensor {
	return Build(x,
		func() ag.AutoGradFunction { return &activationFn[float32]{x: x, kind: kind} },
		func() ag.AutoGradFunction { return &activationFn[float64]{x: x, kind: kind} })
}

type activationFn[T float.DType] struct {
	x    mat.Tensor
	kind activation
	y    []T
	dydx []T // GELU's derivative, kept by Forward when x requires gradients
}

func (f *activationFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

// elementWork is the number of elements below which an element-wise operator runs on one
// goroutine.
const elementWork = 1 << 14

const (
	invSqrt2Pi   = 0.3989422804014327 // 1/√(2π)
	sqrt2OverPi  = 0.7978845608028654 // √(2/π)
	geluTanhCube = 0.044715
)

func (f *activationFn[T]) Forward() (mat.Tensor, error) {
	x := Values[T](f.x)
	f.y = outputBuffer[T](len(x)) // every element written
	if f.kind == gelu && f.x.RequiresGrad() {
		f.dydx = make([]T, len(x))
	}
	Parallel(len(x), elementWork, func(from, to int) {
		y := f.y[from:to]
		switch f.kind {
		case gelu:
			var d []T
			if f.dydx != nil {
				d = f.dydx[from:to]
			}
			geluInto(y, d, x[from:to])
		case geluTanh:
			for i, v := range x[from:to] {
				u := float64(v)
				y[i] = T(0.5 * u * (1 + math.Tanh(sqrt2OverPi*(u+geluTanhCube*u*u*u))))
			}
		case tanh:
			for i, v := range x[from:to] {
				y[i] = T(math.Tanh(float64(v)))
			}
		case relu:
			for i, v := range x[from:to] {
				y[i] = max(v, 0)
			}
		}
	})
	s := f.x.Value().Shape()
	return mat.NewDense[T](mat.WithShape(s...), mat.WithBacking(f.y)), nil
}

// Backward multiplies the upstream gradient by the derivative: for GELU Φ(x) + x·φ(x); for its
// tanh approximation ½(1+t) + ½x(1−t²)·√(2/π)(1 + 3·0.044715x²) with t the tanh; for tanh 1 − y².
func (f *activationFn[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	x := Values[T](f.x)
	g := Values[T](gy)
	gx := gradBuffer[T](len(x), f.kind == relu) // ReLU writes only where x > 0
	Parallel(len(x), elementWork, func(from, to int) {
		out := gx[from:to]
		switch f.kind {
		case gelu:
			mulVec(out, g[from:to], f.dydx[from:to])
		case geluTanh:
			for i, v := range x[from:to] {
				u := float64(v)
				t := math.Tanh(sqrt2OverPi * (u + geluTanhCube*u*u*u))
				d := 0.5*(1+t) + 0.5*u*(1-t*t)*sqrt2OverPi*(1+3*geluTanhCube*u*u)
				out[i] = g[from+i] * T(d)
			}
		case tanh:
			for i, y := range f.y[from:to] {
				out[i] = g[from+i] * (1 - y*y)
			}
		case relu:
			for i, v := range x[from:to] {
				if v > 0 {
					out[i] = g[from+i]
				}
			}
		}
	})
	accGrad(f.x, gx)
	return nil
}
