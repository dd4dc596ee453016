package op

import (
	"math/bits"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
)

// Gradient buffers. A backward pass hands each gradient it computes to AccGrad, and spago's
// Dense.AccGrad (v1.1.0) copies it, into a new gradient or onto the one there: the buffer is
// garbage as soon as AccGrad returns (TestAccGradCopies holds spago to that). So the operators
// take these buffers from pools and give them back, instead of allocating (and clearing) some
// 100 MB per MiniLM training step at batch 8. Forward values live as long as the graph, unless
// their caller declares them dead with Recycle (recycle.go), which puts them in the same pools.

// reuseGradBuffers enables the pools; SetGradBufferReuse switches it.
var reuseGradBuffers = true

// SetGradBufferReuse turns the reuse of gradient buffers on or off and returns whether it was
// on: for benchmarks that compare both within one process. The results are the same either
// way. Call it only while no operator runs.
func SetGradBufferReuse(on bool) (was bool) {
	was, reuseGradBuffers = reuseGradBuffers, on
	return was
}

// gradPools holds free buffers by element type (0 float32, 1 float64) and size class.
var gradPools [2][64 * 4]sync.Pool

// sizeClass returns the class of buffers that hold n values and their capacity: four classes
// per power of two, so that a buffer is at most 19 % larger than asked (packed batches vary in
// length, and with them every gradient's size).
func sizeClass(n int) (class, capacity int) {
	if n <= 4 {
		return n - 1, n
	}
	shift := bits.Len(uint(n-1)) - 3 // n−1 has shift+3 bits: keep the top 3 of them
	top := (n-1)>>shift + 1          // 5…8
	return 4*shift + top - 1, top << shift
}

// poolOf returns the pool of free T buffers of a size class.
func poolOf[T float.DType](class int) *sync.Pool {
	if _, double := any(T(0)).(float64); double {
		return &gradPools[1][class]
	}
	return &gradPools[0][class]
}

// gradBuffer returns n values for a gradient to be handed to accGrad: cleared when zero is set
// (the caller accumulates into it), else holding anything (the caller overwrites all of it).
func gradBuffer[T float.DType](n int, zero bool) []T {
	if !reuseGradBuffers || n == 0 {
		return make([]T, n)
	}
	class, capacity := sizeClass(n)
	if b, ok := poolOf[T](class).Get().(*[]T); ok {
		buf := (*b)[:n]
		if zero {
			clear(buf)
		}
		return buf
	}
	return make([]T, n, capacity)
}

// accGrad adds g, shaped as t's value, to t's gradient; g's buffer then goes back to its pool,
// when t is of a type whose AccGrad copies (spago's Dense, and Params and operators holding one).
func accGrad[T float.DType](t mat.Tensor, g []T) {
	t.AccGrad(mat.NewDense[T](mat.WithShape(t.Value().Shape()...), mat.WithBacking(g)))
	if copiesGrad[T](t) {
		release(g)
	}
}

// release gives a buffer from gradBuffer back to its pool; nothing may use it afterwards.
func release[T float.DType](g []T) {
	if !reuseGradBuffers || len(g) == 0 {
		return
	}
	class, capacity := sizeClass(len(g))
	if cap(g) != capacity {
		return // not from gradBuffer
	}
	poolOf[T](class).Put(&g)
}

// copiesGrad reports whether t.AccGrad copies its argument rather than keeping it.
func copiesGrad[T float.DType](t mat.Tensor) bool {
	switch v := t.(type) {
	case *mat.Dense[T]:
		return true
	case *nn.Param:
		_, ok := v.Matrix.(*mat.Dense[T])
		return ok
	case *ag.Operator:
		_, ok := v.Value().(*mat.Dense[T])
		return ok
	}
	return false
}
