package oft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/op"
)

// BenchmarkOFT times a 768×768 float32 layer on 32 tokens with 32×32 blocks: forward and
// forward-backward with the exact Cayley transform (the zero Config's form), the same with PEFT's
// 5-term Neumann series, and the plain linear layer (base-…) as the baseline of the same run. R is random:
// at init every block is the identity, which the forward skips.
func BenchmarkOFT(b *testing.B) {
	const in, out, n, block = 768, 768, 32, 32
	rng := rand.New(rand.NewPCG(1, 1))
	base := adaptertest.Layer[float32](rng, in, out)
	x := adaptertest.Rows[float32](rng, n, in)
	x.SetRequiresGrad(true)
	proj := adaptertest.Rows[float32](rng, n, out)
	b.Run("base-forward", func(b *testing.B) {
		for b.Loop() {
			op.Linear(x, base.W, base.B)
		}
	})
	b.Run("base-forward-backward", func(b *testing.B) {
		for b.Loop() {
			if err := ag.Backward(ag.Dot(op.Linear(x, base.W, base.B), proj)); err != nil {
				b.Fatal(err)
			}
			x.ZeroGrad()
		}
	})
	for _, v := range []struct {
		prefix string
		c      Config
	}{
		{"", Config{BlockSize: block}},
		{"neumann/", Config{BlockSize: block, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}},
	} {
		m, err := New(base, v.c, rng)
		if err != nil {
			b.Fatal(err)
		}
		randomize(m, rng, 0.05)
		b.Run(v.prefix+"forward", func(b *testing.B) {
			for b.Loop() {
				m.ForwardRows(x)
			}
		})
		b.Run(v.prefix+"forward-backward", func(b *testing.B) {
			for b.Loop() {
				if err := ag.Backward(ag.Dot(m.ForwardRows(x), proj)); err != nil {
					b.Fatal(err)
				}
				m.R.ZeroGrad()
				x.ZeroGrad()
			}
		})
	}
}

// BenchmarkCayley times the Cayley map of one 32×32 block and its gradient, exact and Neumann,
// by the block kernels and by the gemm forms (SetCayleyKernels).
func BenchmarkCayley(b *testing.B) {
	const block = 32
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float64, pairs(block))
	for i := range p {
		p[i] = rng.NormFloat64() * 0.05
	}
	ga := make([]float64, block*block)
	for i := range ga {
		ga[i] = rng.NormFloat64()
	}
	for _, kernels := range []bool{true, false} {
		for _, f := range []form{{b: block}, {b: block, coeffs: neumannCoeffs(5)}} {
			name := fmt.Sprintf("kernels=%v/neumann=%v", kernels, f.coeffs != nil)
			b.Run(name+"/matrix", func(b *testing.B) {
				defer SetCayleyKernels(SetCayleyKernels(kernels))
				for b.Loop() {
					f.matrix(p)
				}
			})
			b.Run(name+"/grad", func(b *testing.B) {
				defer SetCayleyKernels(SetCayleyKernels(kernels))
				_, st := f.matrix(p)
				for b.Loop() {
					f.grad(ga, st)
				}
			})
		}
	}
}
