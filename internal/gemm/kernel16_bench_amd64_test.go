package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkTallKernel runs products of 16 rows (a lone 32-token sequence's share of a core) by
// weights kept packed (GemmCachedB, y = x·Wᵀ) on one core, with the 16-row tile and with two
// 8-row ones (SetTallKernel), in ABBA order within each iteration. weights=hot multiplies by
// one weight again and again (B stays in the caches); weights=cold cycles through copies of it
// that add up to 64 MiB, twice the L3, so that B streams from memory as a whole model's
// weights do. cores=2 runs the products on two goroutines side by side, each its own 16 rows
// by the same weights, as a lone sequence split between two cores does. Reported: the GFLOP/s of each and tall/pair, the ratio of their times.
func BenchmarkTallKernel(b *testing.B) {
	if avx512Blocking == nil {
		b.Skip("the CPU has no AVX-512F")
	}
	for _, s := range []shape{{16, 384, 384}, {16, 1536, 384}, {16, 384, 1536}, {16, 768, 768}, {16, 3072, 768}, {16, 768, 8}, {16, 32, 64}, {16, 64, 32}, {10, 768, 768}, {12, 768, 768}, {13, 768, 768}, {12, 3072, 768}} {
		for _, cold := range []bool{false, true} {
			for _, cores := range []int{1, 2} {
				name := fmt.Sprintf("shape=%v/weights=%s/cores=%d", s, map[bool]string{false: "hot", true: "cold"}[cold], cores)
				b.Run(name, func(b *testing.B) { benchmarkTallKernel(b, s, cold, cores) })
			}
		}
	}
}

func benchmarkTallKernel(b *testing.B, s shape, cold bool, cores int) {
	rng := rand.New(rand.NewPCG(13, 14))
	const coldBytes = 64 << 20
	copies := max(1, coldBytes/(4*s.n*s.k))
	weights := make([][]float32, copies)
	for i := range weights {
		if i == 0 || cold {
			weights[i] = randomSlice[float32](rng, s.n*s.k)
			continue
		}
		weights[i] = weights[0]
	}
	x := randomSlice[float32](rng, cores*s.m*s.k)
	y := make([]float32, cores*s.m*s.n)
	defer Occupy(runtime.GOMAXPROCS(0))() // one core per goroutine: Workers() is 1
	defer SetPackedLimit(SetPackedLimit(2 * coldBytes))
	defer SetTallKernel(SetTallKernel(true))
	pass := func(tall bool) time.Duration {
		SetTallKernel(tall)
		start := time.Now()
		var wg sync.WaitGroup
		for part := range cores {
			wg.Go(func() {
				x, y := x[part*s.m*s.k:], y[part*s.m*s.n:]
				for _, w := range weights {
					GemmCachedB(false, true, s.m, s.n, s.k, 1, x, s.k, w, s.k, 0, y, s.n)
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	pass(true) // packs the weights
	runtime.GC()
	var tTall, tPair time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			tPair += pass(false)
			tTall += pass(true)
		} else {
			tTall += pass(true)
			tPair += pass(false)
		}
	}
	b.StopTimer()
	flops := 2 * float64(cores*s.m*s.n*s.k) * float64(copies) * float64(b.N)
	b.ReportMetric(flops/tTall.Seconds()/1e9, "tall-GFLOP/s")
	b.ReportMetric(flops/tPair.Seconds()/1e9, "pair-GFLOP/s")
	b.ReportMetric(float64(tTall)/float64(tPair), "tall/pair")
}
