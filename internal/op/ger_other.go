//go:build !amd64

package op

func gerAVX(m *float64, ldm int, a *float64, inca int, x *float64, rows, n int) {
	panic("op: no vector kernels")
}
