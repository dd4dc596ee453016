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
