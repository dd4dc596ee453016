//go:build !openblas || !cgo

package gemm

// float64Blocking multiplies float64 matrices; they only occur in gradient checks, so the
// portable kernel is fast enough.
var float64Blocking = newPortableBlocking[float64]()

func gemmFloat32(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	float32BlockingFor(n).gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmFloat64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	float64Blocking.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmCachedFloat32(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	float32BlockingFor(n).gemmCached(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmCachedFloat64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	float64Blocking.gemmCached(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// float32BlockingFor returns the blocking for float32 products of n columns: float32Narrow, if
// set, for at most narrowColumns (an adapter's rank: a 32-column tile would compute 4× the
// columns of an 8-column product, a 16-column one 2×), else float32Blocking. Each shape always
// gets the same blocking, so results stay reproducible.
func float32BlockingFor(n int) *blocking[float32] {
	if n <= narrowColumns && float32Narrow != nil {
		return float32Narrow
	}
	return float32Blocking
}
