//go:build !amd64

package op

// vectorCapable reports whether float32 element-wise kernels in assembly exist: not here.
const vectorCapable = false

func geluAVX(n int, x, y, d *float32) { panic("op: no vector kernels") }

func expSumAVX(n int, x *float32, shift float32) float32 { panic("op: no vector kernels") }

func rowMomentsAVX(n int, x *float32) (mean, sq float64) { panic("op: no vector kernels") }

func rowAffineAVX(n int, out, x, gain, bias *float32, mean, rstd float32) {
	panic("op: no vector kernels")
}

func rowGradAVX(n int, out, x, grow, gain *float32, mean, rstd float32) {
	panic("op: no vector kernels")
}

func mulAVX(n int, dst, a, b *float32) { panic("op: no vector kernels") }

func addAVX(n int, dst, a, b *float32) { panic("op: no vector kernels") }

func dropAddAVX(n int, dst, a, mask, x *float32) { panic("op: no vector kernels") }

func affineGradAVX(n int, ggain, gbias, row, grow *float32, mean, rstd float32) {
	panic("op: no vector kernels")
}
