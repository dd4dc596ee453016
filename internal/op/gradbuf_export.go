package op

import (
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// GradBuffer returns n values from the gradient-buffer pools, for operators outside this
// package: cleared when zero is set, else holding anything. Hand it to AccGrad, or give it back
// with ReleaseGradBuffer when it was scratch.
func GradBuffer[T float.DType](n int, zero bool) []T { return gradBuffer[T](n, zero) }

// AccGrad adds g, shaped as t's value, to t's gradient; g's buffer then goes back to its pool
// when t's AccGrad copies it (see gradBuffer's notes).
func AccGrad[T float.DType](t mat.Tensor, g []T) { accGrad(t, g) }

// ReleaseGradBuffer gives a buffer from GradBuffer back to its pool; nothing may use it
// afterwards.
func ReleaseGradBuffer[T float.DType](g []T) { release(g) }
