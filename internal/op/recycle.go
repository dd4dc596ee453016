package op

import (
	"sync/atomic"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// Output buffers. Every operator's output is a fresh matrix, and an inference pass throws away
// almost all of them within a layer: a MiniLM pass allocates 5 MB at batch 1 and 31 MB at batch
// 8, and the allocation, clearing and first touch of those pages cost several per cent of its
// time. A caller that knows that nodes' values will never be read again (forward or backward)
// hands them to Recycle, and operators take their outputs from those buffers. They share the
// gradient buffers' pools (sync.Pools by element type and size class, which the GC empties by
// itself): a free buffer is a free buffer.

// recycling enables the reuse of output buffers; SetRecycling switches it.
var recycling atomic.Bool

func init() { recycling.Store(true) }

// SetRecycling turns the reuse of output buffers on or off and returns whether it was on: for
// benchmarks that compare both within one process. Off, operators allocate their outputs and
// Recycle does nothing. The results are the same either way.
func SetRecycling(on bool) (was bool) { return recycling.Swap(on) }

// outputBuffer returns n values for an operator's output that the operator overwrites entirely:
// with recycling on, a free buffer holding anything when there is one; else a fresh one.
func outputBuffer[T float.DType](n int) []T {
	if !recycling.Load() || n == 0 {
		return make([]T, n)
	}
	class, capacity := sizeClass(n)
	if b, ok := poolOf[T](class).Get().(*[]T); ok {
		return (*b)[:n]
	}
	// The capacity of its class, so that Recycle gives it back whole.
	return make([]T, n, capacity)
}

// scratchBuffer returns n values for a Forward's own use, holding anything, to be given back
// with releaseScratch once the Forward is done with them.
func scratchBuffer[T float.DType](n int) []T { return outputBuffer[T](n) }

// releaseScratch gives a buffer from scratchBuffer back; nothing may use it afterwards.
func releaseScratch[T float.DType](b []T) {
	if recycling.Load() {
		free(b)
	}
}

// Recycle declares that the values of the given nodes will never be read again, by the forward
// pass or by any backward pass, so that later operators may write their outputs into them. The
// caller must know: a node whose value is read afterwards (returned to a user, shared with
// another goroutine's pass, read by the backward of a consumer that requires gradients) would
// be overwritten. Nodes that are not operators (parameters, constants) are ignored, as are a
// node listed twice and an operator whose value is one of its operands'; a node must not be
// recycled twice. With recycling off it does nothing.
func Recycle(ts ...mat.Tensor) {
	if !recycling.Load() {
		return
	}
	for i, t := range ts {
		o, ok := t.(*ag.Operator)
		if !ok || o == nil || listedBefore(ts[:i], o) || aliasesOperand(o) {
			continue
		}
		switch v := o.Value().(type) {
		case *mat.Dense[float32]:
			free(mat.Data[float32](v))
		case *mat.Dense[float64]:
			free(mat.Data[float64](v))
		}
	}
}

// aliasesOperand reports whether o's value starts where one of its operands' values does: an
// operator that passes an operand's value through (a weight's, say) does not own it.
func aliasesOperand(o *ag.Operator) bool {
	v := first(o.Value())
	if v == nil {
		return true
	}
	for _, x := range o.Operands() {
		if x != nil && first(x.Value()) == v {
			return true
		}
	}
	return false
}

// first returns the address of a matrix's first value, or nil when it has none or is not a Dense.
func first(t mat.Tensor) any {
	switch v := t.(type) {
	case *mat.Dense[float32]:
		if d := mat.Data[float32](v); len(d) > 0 {
			return &d[0]
		}
	case *mat.Dense[float64]:
		if d := mat.Data[float64](v); len(d) > 0 {
			return &d[0]
		}
	}
	return nil
}

// listedBefore reports whether o is among ts.
func listedBefore(ts []mat.Tensor, o *ag.Operator) bool {
	for _, t := range ts {
		if t == mat.Tensor(o) {
			return true
		}
	}
	return false
}

// free puts b's whole capacity in the pool of the largest size class it can serve. Packings of
// it that gemm keeps are dropped first: a buffer's address may once have held a frozen weight's
// values (collected since), and whatever is written there next is not that weight.
func free[T float.DType](b []T) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	gemm.Forget(b)
	poolOf[T](freeClass(len(b))).Put(&b)
}

// freeClass returns the largest size class whose buffers a buffer of capacity c can serve.
func freeClass(c int) int {
	class, capacity := sizeClass(c)
	if capacity > c {
		class-- // the class below holds buffers no larger than c
	}
	return class
}
