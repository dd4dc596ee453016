package gemm

func init() {
	if avx512Blocking != nil {
		avx512Blocking.tall = tile16x32
	}
}

// tile16x32 computes the first rows rows (1 to 16) of a 16×32 tile, from two consecutive
// 8-row A panels at ap and a 32-column B panel at bp, with one kernel16x16 call per 16-column
// half of the B panel, after checking the bounds they rely on.
func tile16x32(rows, kc int, ap, bp, c []float32, ldc int, alpha, beta float32) {
	_ = ap[16*kc-1]
	_ = bp[32*kc-1]
	_ = c[(rows-1)*ldc+31]
	kernel16x16(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta, rows)
	kernel16x16(kc, &ap[0], &bp[16], &c[16], ldc, alpha, beta, rows)
}

// kernel16x16 computes the first rows rows (at most 16) of a 16×16 tile, C ← alpha·Ap·Bp +
// beta·C: it reads 16·kc values at ap (two 8-row panels), 16 of every 32 values of 32·kc at
// bp (a half of a 32-column panel) and rows rows of 16 at c with row stride ldc, and does not
// read C when beta is 0. kc ≥ 1.
//
//go:noescape
func kernel16x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
