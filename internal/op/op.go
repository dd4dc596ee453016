// Package op holds spago autograd operators with hand-written backward passes, built on the
// internal/gemm kernel. Each operator works on row-stacked matrices (one token per row) and on
// both float32 and float64 values.
package op

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// values returns the elements of t's value as a []T, without copying.
func values[T float.DType](t mat.Tensor) []T {
	return float.SliceValueOf[T](t.Value().Data())
}

// dense wraps data as a rows×cols matrix of t's element type.
func dense[T float.DType](rows, cols int, data []T) *mat.Dense[T] {
	return mat.NewDense[T](mat.WithShape(rows, cols), mat.WithBacking(data))
}

// dims returns the rows and columns of t's value.
func dims(t mat.Tensor) (int, int) {
	s := t.Value().Shape()
	return s[0], s[1]
}

// run builds and runs the operator for the element type of x: mk32 for float32, mk64 for float64.
func run(x mat.Tensor, mk32, mk64 func() ag.AutoGradFunction) mat.Tensor {
	switch x.Value().Data().BitSize() {
	case 32:
		return ag.NewOperator(mk32()).Run()
	case 64:
		return ag.NewOperator(mk64()).Run()
	default:
		panic(fmt.Sprintf("op: unsupported element type of %T", x.Value()))
	}
}

// mustShape panics with a descriptive message when a condition on operand shapes fails: a shape
// mismatch inside a graph is a programming error of the caller, as in spago's own operators.
func mustShape(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("op: "+format, args...))
	}
}
