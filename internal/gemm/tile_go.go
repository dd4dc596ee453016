package gemm

import "github.com/nlpodyssey/spago/mat/float"

// tile2x4 is the portable micro-kernel: a 2×4 tile in eight scalar accumulators, few enough
// to stay in registers on amd64 (16 floating-point registers) as on arm64.
func tile2x4[T float.DType](rows, kc int, ap, bp, c []T, ldc int, alpha, beta T) {
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	ap, bp = ap[:2*kc], bp[:4*kc]
	for p := range kc {
		a, b := ap[2*p:2*p+2:2*p+2], bp[4*p:4*p+4:4*p+4]
		a0, a1 := a[0], a[1]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	storeRow4(c[0:4], alpha, beta, c00, c01, c02, c03)
	if rows > 1 {
		storeRow4(c[ldc:ldc+4], alpha, beta, c10, c11, c12, c13)
	}
}

// storeRow4 writes alpha·(v0..v3) + beta·row into row, without reading row when beta is 0.
func storeRow4[T float.DType](row []T, alpha, beta T, v0, v1, v2, v3 T) {
	row = row[:4:4]
	if beta == 0 {
		row[0], row[1], row[2], row[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	row[0] = alpha*v0 + beta*row[0]
	row[1] = alpha*v1 + beta*row[1]
	row[2] = alpha*v2 + beta*row[2]
	row[3] = alpha*v3 + beta*row[3]
}

// newPortableBlocking returns the blocking of tile2x4.
func newPortableBlocking[T float.DType]() *blocking[T] {
	return &blocking[T]{mr: 2, nr: 4, mc: 64, kc: 256, nc: 1024, tile: tile2x4[T]}
}
