package op

import "golang.org/x/sys/cpu"

// vectorCapable reports whether the CPU can run the float32 kernels of vector_amd64.s.
var vectorCapable = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// geluAVX sets y[i] = GELU(x[i]) and, unless d is nil, d[i] = GELU'(x[i]) for i < n, n a
// multiple of 8; y may be x.
//
//go:noescape
func geluAVX(n int, x, y, d *float32)

// expSumAVX replaces x[i] by exp(x[i] − shift) for i < n, n a multiple of 8, and returns their
// sum.
//
//go:noescape
func expSumAVX(n int, x *float32, shift float32) float32

// rowMomentsAVX returns the mean of x[:n] and Σ(x − mean)², in float64; n is a multiple of 8.
//
//go:noescape
func rowMomentsAVX(n int, x *float32) (mean, sq float64)

// rowAffineAVX sets out[i] = (x[i] − mean)·rstd·gain[i] + bias[i] for i < n, a multiple of 8.
//
//go:noescape
func rowAffineAVX(n int, out, x, gain, bias *float32, mean, rstd float32)

// rowGradAVX sets out[:n] to LayerNorm's input gradient for the row x and its upstream gradient
// grow, as normalizeRowGrad; n is a multiple of 8.
//
//go:noescape
func rowGradAVX(n int, out, x, grow, gain *float32, mean, rstd float32)

// mulAVX sets dst[i] = a[i]·b[i] for i < n, a multiple of 8.
//
//go:noescape
func mulAVX(n int, dst, a, b *float32)

// addAVX sets dst[i] = a[i] + b[i] for i < n, a multiple of 8.
//
//go:noescape
func addAVX(n int, dst, a, b *float32)

// dropAddAVX sets dst[i] = a[i]·mask[i] + x[i], the product taken as 0 where mask[i] is 0, for
// i < n, a multiple of 8.
//
//go:noescape
func dropAddAVX(n int, dst, a, mask, x *float32)

// affineGradAVX adds one row's share to LayerNorm's gain and bias gradients, as
// accumulateAffineGrad, for n values, a multiple of 8.
//
//go:noescape
func affineGradAVX(n int, ggain, gbias, row, grow *float32, mean, rstd float32)
