package op

// gerAVX is Ger64's kernel: m[r·ldm+j] += a[r·inca]·x[j] for r < rows, j < n, four values at a
// time and the last n mod 4 one by one, each a fused multiply-add.
//
//go:noescape
func gerAVX(m *float64, ldm int, a *float64, inca int, x *float64, rows, n int)
