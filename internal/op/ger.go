package op

import "math"

// Ger64 adds a[r·inca]·x[j] to m[r·ldm+j] for r < rows and j < len(x): a rank-one update of a
// rows×len(x) float64 block, rounded once per element (fused multiply-add). OFT's Cayley
// transform and its gradient are built from it (b×b products and Gauss–Jordan steps on blocks of
// 8–64), which gemm's packing would dominate. It runs in AVX2/FMA assembly where the CPU has
// both, with the same bits as the Go loop.
func Ger64(m []float64, ldm int, a []float64, inca int, x []float64, rows int) {
	n := len(x)
	if rows <= 0 || n == 0 {
		return
	}
	if ldm < n || len(m) < (rows-1)*ldm+n || inca < 0 || len(a) <= (rows-1)*inca {
		// Tested before formatting, which would box the arguments on every call.
		MustShape(false, "Ger64 on %d values with ldm %d and %d multipliers of stride %d for %d×%d", len(m), ldm, len(a), inca, rows, n)
	}
	if vectorCapable {
		gerAVX(&m[0], ldm, &a[0], inca, &x[0], rows, n)
		return
	}
	ger(m, ldm, a, inca, x, rows)
}

// ger is Ger64 in Go.
func ger(m []float64, ldm int, a []float64, inca int, x []float64, rows int) {
	for r := 0; r < rows; r++ {
		s := a[r*inca]
		row := m[r*ldm : r*ldm+len(x)]
		for j, v := range x {
			row[j] = math.FMA(s, v, row[j])
		}
	}
}

// VecMat64 adds Σ_j a[j·inca]·m[j·ldm+i] to c[i] for j < k and i < len(c): a row of a small
// product (c += aᵀ·M), with c held in registers while the k rows of m stream past, each value
// rounded once per term (fused multiply-add) in the order of j, as k calls of Ger64 on one row
// would. AVX2/FMA assembly where the CPU has both, with the same bits as the Go loop.
func VecMat64(c []float64, a []float64, inca int, m []float64, ldm, k int) {
	n := len(c)
	if k <= 0 || n == 0 {
		return
	}
	if ldm < n || len(m) < (k-1)*ldm+n || inca < 0 || len(a) <= (k-1)*inca {
		MustShape(false, "VecMat64 of %d values over %d rows of %d values with ldm %d and %d multipliers of stride %d", n, k, len(m), ldm, len(a), inca)
	}
	if vectorCapable {
		vecMatAVX(&c[0], &a[0], inca, &m[0], ldm, k, n)
		return
	}
	vecMat(c, a, inca, m, ldm, k)
}

// vecMat is VecMat64 in Go.
func vecMat(c []float64, a []float64, inca int, m []float64, ldm, k int) {
	for i := range c {
		s := c[i]
		for j := 0; j < k; j++ {
			s = math.FMA(a[j*inca], m[j*ldm+i], s)
		}
		c[i] = s
	}
}
