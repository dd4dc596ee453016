//go:build !openblas || !cgo

package gemm

// float64Blocking multiplies float64 matrices; they only occur in gradient checks, so the
// portable kernel is fast enough.
var float64Blocking = newPortableBlocking[float64]()

func gemmFloat32(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	float32Blocking.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmFloat64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	float64Blocking.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmCachedFloat32(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	float32Blocking.gemmCached(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmCachedFloat64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	float64Blocking.gemmCached(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
