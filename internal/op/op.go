// Package op holds spago autograd operators with hand-written backward passes, built on the
// internal/gemm kernel. Each operator works on row-stacked matrices (one token per row) and on
// both float32 and float64 values. float32's element-wise work (GELU, softmax, LayerNorm's rows,
// the backward passes' loops) runs in AVX2/FMA assembly where the CPU has it, attention's blocks
// of up to 512 tokens in AVX-512 without gemm where the CPU has AVX-512F (attention_short.go),
// the backward passes take the gradient buffers they hand to AccGrad from pools, and the forward
// passes take their outputs from the buffers of nodes their caller declared dead (Recycle);
// bench/LEVERS.md has what each gains.
package op

import (
	"fmt"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// Values returns the elements of t's value as a []T, without copying. Callers may write into
// them, so it drops any packing of them that gemm keeps (see Linear).
func Values[T float.DType](t mat.Tensor) []T {
	v := mat.Data[T](t.Value())
	gemm.Forget(v)
	return v
}

// Forget drops any packing of t's values that gemm keeps: call it before writing them other than
// through Values, as with SetData.
func Forget(t mat.Tensor) {
	switch v := t.Value().(type) {
	case *mat.Dense[float32]:
		gemm.Forget(mat.Data[float32](v))
	case *mat.Dense[float64]:
		gemm.Forget(mat.Data[float64](v))
	}
}

// NewDense wraps data, without copying, as a rows×cols matrix.
func NewDense[T float.DType](rows, cols int, data []T) *mat.Dense[T] {
	return mat.NewDense[T](mat.WithShape(rows, cols), mat.WithBacking(data))
}

// Dims returns the rows and columns of t's value.
func Dims(t mat.Tensor) (int, int) {
	s := t.Value().Shape()
	return s[0], s[1]
}

// Build creates and runs the operator for the element type of x: mk32 for float32, mk64 for float64.
func Build(x mat.Tensor, mk32, mk64 func() ag.AutoGradFunction) mat.Tensor {
	switch x.Value().Data().BitSize() {
	case 32:
		return ag.NewOperator(mk32()).Run()
	case 64:
		return ag.NewOperator(mk64()).Run()
	default:
		panic(fmt.Sprintf("op: unsupported element type of %T", x.Value()))
	}
}

// MustShape panics with a descriptive message when a condition on operand shapes fails: a shape
// mismatch inside a graph is a programming error of the caller, as in spago's own operators.
func MustShape(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("op: "+format, args...))
	}
}

// Parallel splits [0, n) into contiguous chunks, one per available core (gemm.Workers: those
// that goroutines declared by gemm.Occupy leave free), and runs body on each;
// when n is under two chunks of minChunk it runs body(0, n) on the calling goroutine.
func Parallel(n, minChunk int, body func(from, to int)) {
	workers := gemm.Workers()
	if workers == 1 || n < 2*minChunk {
		body(0, n)
		return
	}
	chunk := max(minChunk, (n+workers-1)/workers)
	var wg sync.WaitGroup
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(from, to)
		}()
	}
	wg.Wait()
}
