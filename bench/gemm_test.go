package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/spago-peft/spago-peft/internal/gemm"
)

// gemmShapes are the products of a linear layer on the tokens of one sequence (32) and of a
// batch of 8 (256): X (tokens×in) times Wᵀ (in×out) as op.Linear and PyTorch's F.linear compute
// it, for MiniLM (384, FFN 1536), BERT-base (768) and bert-tiny (128, FFN 512); and 512×1536×384,
// the shape of the GEMM target.
var gemmShapes = []struct{ m, n, k int }{
	{32, 384, 384}, {32, 1536, 384}, {32, 384, 1536},
	{256, 384, 384}, {256, 1536, 384}, {256, 384, 1536},
	{32, 768, 768}, {256, 768, 768},
	{32, 128, 128}, {32, 512, 128}, {256, 128, 128}, {256, 512, 128},
	{512, 1536, 384},
}

// BenchmarkGemm reports the GFLOP/s (2·m·n·k per product) of gemm.Gemm on C = A·Bᵀ in float32.
func BenchmarkGemm(b *testing.B) {
	for _, s := range gemmShapes {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			a, w, c := randomSlice(rng, s.m*s.k), randomSlice(rng, s.n*s.k), make([]float32, s.m*s.n)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				gemm.Gemm(false, true, s.m, s.n, s.k, 1, a, s.k, w, s.k, 0, c, s.n)
			}
			cpu.report(b)
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// randomSlice returns n values uniform in [−1, 1).
func randomSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	return x
}
