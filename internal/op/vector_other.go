//go:build !amd64

package op

// vectorCapable reports whether float32 element-wise kernels in assembly exist: not here.
const vectorCapable = false

func geluAVX(n int, x, y, d *float32) { panic("op: no vector kernels") }

func expSumAVX(n int, x *float32, shift float32) float32 { panic("op: no vector kernels") }
