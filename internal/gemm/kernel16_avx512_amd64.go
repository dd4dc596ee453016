package gemm

// init gives the AVX-512 blocking its 16-row tile, for A blocks of 13 to 16 rows: with 9 to
// 12, the second 8-row tile is kernel4x32's, 12 rows of FMAs to the 16-row tile's 16, and
// the 16-row tile took 1.08-1.16 times as long with B from memory, 1.3 times from the caches
// (BenchmarkTallKernel, shapes 10×768×768 and 12×768×768).
func init() {
	if avx512Blocking != nil {
		avx512Blocking.tall, avx512Blocking.tallFrom = tile16x32, 13
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
