// Package gemm multiplies dense row-major matrices: C ← α·op(A)·op(B) + β·C, as BLAS's GEMM.
//
// It is the one matrix-product kernel of the module: the ag operators in internal/op and the
// adapters call it instead of spago's Dense.Mul, which is several times slower.
package gemm

import (
	"runtime"
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
)

// Gemm computes C ← alpha·op(A)·op(B) + beta·C for row-major matrices, where op(A) is m×k and
// op(B) is k×n; op(X) is Xᵀ when the matching trans flag is set. lda, ldb and ldc are the row
// strides of A, B and C as stored. When beta is 0, C is overwritten without being read.
func Gemm[T float.DType](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	rows := func(from, to int) {
		gemmRows(transA, transB, from, to, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	workers := runtime.GOMAXPROCS(0)
	// Below a few hundred thousand multiply-adds the goroutine hand-off costs more than it saves.
	if workers == 1 || m < 2 || m*n*k < 1<<17 {
		rows(0, m)
		return
	}
	if workers > m {
		workers = m
	}
	var wg sync.WaitGroup
	chunk := (m + workers - 1) / workers
	for from := 0; from < m; from += chunk {
		to := min(from+chunk, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows(from, to)
		}()
	}
	wg.Wait()
}

// gemmRows computes rows [from, to) of C.
func gemmRows[T float.DType](transA, transB bool, from, to, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if transB {
		// Multiplying by Bᵀ reads B along rows, so each output element is a dot product.
		for i := from; i < to; i++ {
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				bj := b[j*ldb : j*ldb+k]
				var s T
				if transA {
					for p, bv := range bj {
						s += a[p*lda+i] * bv
					}
				} else {
					ai := a[i*lda : i*lda+k]
					for p, bv := range bj {
						s += ai[p] * bv
					}
				}
				if beta == 0 {
					ci[j] = alpha * s
				} else {
					ci[j] = alpha*s + beta*ci[j]
				}
			}
		}
		return
	}
	for i := from; i < to; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av T
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if av == 0 {
				continue
			}
			av *= alpha
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
