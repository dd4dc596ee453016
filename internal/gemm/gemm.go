// Package gemm multiplies dense row-major matrices: C ← α·op(A)·op(B) + β·C, as BLAS's GEMM.
//
// It is the one matrix-product kernel of the module: the ag operators in internal/op and the
// adapters call it instead of spago's Dense.Mul, which is several times slower.
//
// The product is cache-blocked: panels of op(A) and op(B) are packed into contiguous buffers
// (packing also resolves the transposes) and a register-tile micro-kernel multiplies them. On
// amd64 the float32 micro-kernel is hand-written assembly: an 8×32 tile in AVX-512 where the
// CPU has AVX-512F (and a 16×16 one for products of 13 to 16 rows, SetTallKernel), else a
// 6×16 tile in AVX2 and FMA (SetAVX512 chooses between them for comparisons); elsewhere, and
// for float64, it is plain Go. Large products are split across the free cores' goroutines
// (Workers: GOMAXPROCS less those that Occupy declares busy). Built with the openblas tag (and
// cgo), Gemm hands products to OpenBLAS instead; see package blas.
//
// GemmCachedB keeps the packing of a B that does not change (a frozen weight) across products,
// within a memory limit; BENCHMARKS.md has what it saves.
package gemm

import (
	"fmt"

	"github.com/nlpodyssey/spago/mat/float"
)

// Gemm computes C ← alpha·op(A)·op(B) + beta·C for row-major matrices, where op(A) is m×k and
// op(B) is k×n; op(X) is Xᵀ when the matching trans flag is set. lda, ldb and ldc are the row
// strides of A, B and C as stored. When beta is 0, C is overwritten without being read.
//
// Gemm panics if a dimension is negative, a stride is shorter than its row, or a slice is too
// short for the dimensions and strides: these are programming errors, as in BLAS.
func Gemm[T float.DType](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	product(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// product is Gemm, or GemmCachedB if cachedB is set.
func product[T float.DType](cachedB, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	switch c := any(c).(type) {
	case []float32:
		f := gemmFloat32
		if cachedB {
			f = gemmCachedFloat32
		}
		f(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
	case []float64:
		f := gemmFloat64
		if cachedB {
			f = gemmCachedFloat64
		}
		f(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), c, ldc)
	}
}

// checkArgs panics unless every element that Gemm addresses lies inside its slice; the
// assembly micro-kernel relies on it.
func checkArgs(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("A", rowsA, colsA, lenA, lda)
	checkMatrix("B", rowsB, colsB, lenB, ldb)
	checkMatrix("C", m, n, lenC, ldc)
}

// checkMatrix panics unless a rows×cols matrix with row stride ld fits in length elements.
func checkMatrix(name string, rows, cols, length, ld int) {
	if ld < cols {
		panic(fmt.Sprintf("gemm: stride of %s is %d, shorter than its %d columns", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; length < need {
		panic(fmt.Sprintf("gemm: %s has %d elements, %d×%d with stride %d needs %d", name, length, rows, cols, ld, need))
	}
}

// scale computes C ← beta·C, without reading C when beta is 0.
func scale[T float.DType](m, n int, beta T, c []T, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
