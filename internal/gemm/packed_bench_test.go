package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// encoderShape is the linear layers of a BERT encoder: hidden and FFN widths, and how many
// layers the benchmark runs (enough for the weights to outgrow the 32 MiB L3, as the whole
// model's do).
type encoderShape struct {
	name           string
	hidden, ffn    int
	layers         int
	tokensPerBatch int
}

var encoderShapes = []encoderShape{
	{name: "MiniLM", hidden: 384, ffn: 1536, layers: 6, tokensPerBatch: 32},
	{name: "bert-base", hidden: 768, ffn: 3072, layers: 3, tokensPerBatch: 32},
}

// BenchmarkFrozenWeights runs the weight products of an encoder's layers with frozen weights,
// as op.Linear does: forward y = x·Wᵀ for Q, K, V, the attention output and both FFN layers,
// and with backward the input's gradient g·W too (adapter training). impl=cached multiplies with
// GemmCachedB, impl=repack with Gemm; each iteration runs both, in ABBA order, so that load on
// the machine hits both alike. Reported: cached/repack, the ratio of their times, and each
// one's ns per pass and allocations per pass.
func BenchmarkFrozenWeights(b *testing.B) {
	for _, es := range encoderShapes {
		for _, batch := range []int{1, 8} {
			for _, backward := range []bool{false, true} {
				name := fmt.Sprintf("shape=%s/batch=%d/backward=%v", es.name, batch, backward)
				b.Run(name, func(b *testing.B) { benchmarkFrozenWeights(b, es, batch*es.tokensPerBatch, backward) })
			}
		}
	}
}

func benchmarkFrozenWeights(b *testing.B, es encoderShape, m int, backward bool) {
	rng := rand.New(rand.NewPCG(11, 12))
	random := func(n int) []float32 { return randomSlice[float32](rng, n) }
	type weight struct {
		w       []float32
		out, in int
	}
	var weights []weight
	for range es.layers {
		for _, d := range [][2]int{{es.hidden, es.hidden}, {es.hidden, es.hidden}, {es.hidden, es.hidden}, {es.hidden, es.hidden}, {es.ffn, es.hidden}, {es.hidden, es.ffn}} {
			weights = append(weights, weight{random(d[0] * d[1]), d[0], d[1]})
		}
	}
	x, y := random(m*es.ffn), make([]float32, m*es.ffn)
	pass := func(gemm gemmFunc[float32]) time.Duration {
		start := time.Now()
		for _, w := range weights {
			gemm(false, true, m, w.out, w.in, 1, x, w.in, w.w, w.in, 0, y, w.out)
			if backward {
				gemm(false, false, m, w.in, w.out, 1, x, w.out, w.w, w.in, 0, y, w.in)
			}
		}
		return time.Since(start)
	}
	allocs := func(gemm gemmFunc[float32]) float64 {
		return testing.AllocsPerRun(3, func() { pass(gemm) })
	}
	defer SetPackedLimit(SetPackedLimit(0))
	SetPackedLimit(DefaultPackedLimit)
	pass(GemmCachedB[float32]) // packs the weights
	runtime.GC()
	var tCached, tRepack time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 { // ABBA order, so neither runs first always
			tRepack += pass(Gemm[float32])
			tCached += pass(GemmCachedB[float32])
		} else {
			tCached += pass(GemmCachedB[float32])
			tRepack += pass(Gemm[float32])
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tCached)/float64(tRepack), "cached/repack")
	b.ReportMetric(float64(tCached.Nanoseconds())/float64(b.N), "cached-ns/pass")
	b.ReportMetric(float64(tRepack.Nanoseconds())/float64(b.N), "repack-ns/pass")
	b.ReportMetric(allocs(GemmCachedB[float32]), "cached-allocs/pass")
	b.ReportMetric(allocs(Gemm[float32]), "repack-allocs/pass")
	b.ReportMetric(float64(Stats().Bytes)/(1<<20), "packed-MiB")
}
