package gemm

import "github.com/nlpodyssey/spago/mat/float"

// tile4x4 is the portable micro-kernel: a 4×4 tile in sixteen scalar accumulators.
func tile4x4[T float.DType](rows, kc int, ap, bp, c []T, ldc int, alpha, beta T) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 T
	ap, bp = ap[:4*kc], bp[:4*kc]
	for p := 0; p+4 <= len(ap); p += 4 {
		a, b := ap[p:p+4:p+4], bp[p:p+4:p+4]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	storeRow4(c[0:4], alpha, beta, c00, c01, c02, c03)
	if rows > 1 {
		storeRow4(c[ldc:ldc+4], alpha, beta, c10, c11, c12, c13)
	}
	if rows > 2 {
		storeRow4(c[2*ldc:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	}
	if rows > 3 {
		storeRow4(c[3*ldc:3*ldc+4], alpha, beta, c30, c31, c32, c33)
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

// newPortableBlocking returns the blocking of tile4x4.
func newPortableBlocking[T float.DType]() *blocking[T] {
	return &blocking[T]{mr: 4, nr: 4, mc: 64, kc: 256, nc: 1024, tile: tile4x4[T]}
}
