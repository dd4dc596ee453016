package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/mat/float"
)

// benchShapes are the products of a BERT-base layer on 32 tokens (hidden 768 in one head
// block of 384, FFN 1536), a whole batch of 512 tokens, and a batch of tokens × a tiny model.
var benchShapes = []shape{
	{512, 1536, 384},
	{32, 384, 384},
	{32, 1536, 384},
	{32, 384, 1536},
	{128, 128, 128},
	{32, 768, 768},
	{4096, 128, 128},
}

// benchImpls are the float32 implementations compared: this package's pure-Go path (what Gemm
// runs without the openblas tag), the previous kernel, and OpenBLAS, which
// openblas_bench_test.go adds under the openblas tag; on CPUs with AVX-512, go is its path and
// go-avx2 the AVX2 one (kernel_avx512_amd64_test.go).
var benchImpls = map[string]gemmFunc[float32]{
	"go": func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		float32Blocking.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	},
	"previous": previousGemm[float32],
}

// BenchmarkGemm reports GFLOP/s (2·m·n·k per product) of each implementation on each shape:
// the mean, and best-GFLOP/s, the rate of the fastest product, which other load on the
// machine disturbs less. Compare them with `benchstat -col /impl`.
func BenchmarkGemm(b *testing.B) {
	for _, impl := range []string{"go", "go-avx2", "previous", "openblas"} {
		gemm, ok := benchImpls[impl]
		if !ok {
			continue
		}
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("impl=%s/shape=%v", impl, s), func(b *testing.B) {
				benchmarkGemm(b, gemm, s)
			})
		}
	}
}

// BenchmarkGemmFloat64 measures the float64 path at one shape, against the previous kernel.
func BenchmarkGemmFloat64(b *testing.B) {
	s := shape{128, 384, 384}
	b.Run(fmt.Sprintf("impl=gemm/shape=%v", s), func(b *testing.B) { benchmarkGemm(b, Gemm[float64], s) })
	b.Run(fmt.Sprintf("impl=previous/shape=%v", s), func(b *testing.B) { benchmarkGemm(b, previousGemm[float64], s) })
}

// benchmarkGemm times C ← A·B for op(A) = A and op(B) = B of shape s.
func benchmarkGemm[T float.DType](b *testing.B, gemm gemmFunc[T], s shape) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, z := randomSlice[T](rng, s.m*s.k), randomSlice[T](rng, s.k*s.n), make([]T, s.m*s.n)
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		start := time.Now()
		gemm(false, false, s.m, s.n, s.k, 1, x, s.k, y, s.n, 0, z, s.n)
		best = min(best, time.Since(start))
	}
	gflop := 2 * float64(s.m) * float64(s.n) * float64(s.k) / 1e9
	b.ReportMetric(gflop*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
	b.ReportMetric(gflop/best.Seconds(), "best-GFLOP/s")
}

// previousGemm is the kernel this package had before packing and blocking: rows split across
// goroutines, each an axpy or dot-product loop. It is the baseline of the benchmarks.
func previousGemm[T float.DType](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	rows := func(from, to int) {
		previousRows(transA, transB, from, to, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 || m < 2 || m*n*k < 1<<17 {
		rows(0, m)
		return
	}
	workers = min(workers, m)
	var wg sync.WaitGroup
	chunk := (m + workers - 1) / workers
	for from := 0; from < m; from += chunk {
		wg.Go(func() { rows(from, min(from+chunk, m)) })
	}
	wg.Wait()
}

// previousRows computes rows [from, to) of C for previousGemm.
func previousRows[T float.DType](transA, transB bool, from, to, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if transB {
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

// randomSlice returns n values drawn uniformly from [-1, 1).
func randomSlice[T float.DType](rng *rand.Rand, n int) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(2*rng.Float64() - 1)
	}
	return x
}
