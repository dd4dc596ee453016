//go:build !amd64

package op

func gerAVX(m *float64, ldm int, a *float64, inca int, x *float64, rows, n int) {
	panic("op: no vector kernels")
}

func vecMatAVX(c *float64, a *float64, inca int, m *float64, ldm, k, n int) {
	panic("op: no vector kernels")
}
