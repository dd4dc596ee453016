package gemm

import (
	"runtime"
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
)

// minParallelWork is the number of multiply-adds below which a product stays on the calling
// goroutine: under it, waking another goroutine costs more than the time it would save.
const minParallelWork = 1 << 16

// gemmParallel computes C ← alpha·op(A)·op(B) + beta·C for k ≥ 1, splitting the larger of the
// M and N dimensions of C into one strip per goroutine. Each strip packs its own copy of the
// operand it shares with the others, a cost of order k·(m or n), small beside the m·n·k product.
func gemmParallel[T float.DType](bl *blocking[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	workers := runtime.GOMAXPROCS(0)
	splitN := n >= m
	dim, unit := m, bl.mr
	if splitN {
		dim, unit = n, bl.nr
	}
	workers = min(workers, ceilDiv(dim, unit))
	if workers < 2 || m*n*k < minParallelWork {
		bl.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	strip := roundUp(ceilDiv(dim, workers), unit)
	run := func(from, to int) {
		if splitN {
			bOffset := from // op(B)'s column from
			if transB {
				bOffset = from * ldb
			}
			bl.gemm(transA, transB, m, to-from, k, alpha, a, lda, b[bOffset:], ldb, beta, c[from:], ldc)
			return
		}
		aOffset := from * lda // op(A)'s row from
		if transA {
			aOffset = from
		}
		bl.gemm(transA, transB, to-from, n, k, alpha, a[aOffset:], lda, b, ldb, beta, c[from*ldc:], ldc)
	}
	var wg sync.WaitGroup
	last := (workers - 1) * strip
	for from := 0; from < last; from += strip {
		wg.Go(func() { run(from, from+strip) })
	}
	run(last, dim) // the last strip on the calling goroutine
	wg.Wait()
}
