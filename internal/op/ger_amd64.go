package op

// gerAVX is Ger64's kernel: m[r·ldm+j] += a[r·inca]·x[j] for r < rows, j < n, four values at a
// time and the last n mod 4 one by one, each a fused multiply-add.
//
//go:noescape
func gerAVX(m *float64, ldm int, a *float64, inca int, x *float64, rows, n int)

// vecMatAVX is VecMat64's kernel: c[i] += Σ_j a[j·inca]·m[j·ldm+i] for j < k, i < n, sixteen
// columns at a time in four registers, then four, then one.
//
//go:noescape
func vecMatAVX(c *float64, a *float64, inca int, m *float64, ldm, k, n int)
