package lora

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/op"
)

// BenchmarkLoRA times a BERT-base-sized 768×768 float32 layer at r = 8 on 32 tokens. The
// base-forward and base-forward-backward cases run the frozen layer alone, the baseline for the
// adapter's overhead; in forward-backward X requires gradients, as in any layer above the first.
func BenchmarkLoRA(b *testing.B) {
	const in, out, n = 768, 768, 32
	rng := rand.New(rand.NewPCG(1, 1))
	m, err := New(adaptertest.Layer[float32](rng, in, out), Config{R: 8, Alpha: 16}, rng)
	if err != nil {
		b.Fatal(err)
	}
	randomize(rng, m.B)
	x := adaptertest.Rows[float32](rng, n, in)
	x.SetRequiresGrad(true)
	upstream := adaptertest.Rows[float32](rng, n, out) // ∂L/∂Y, the same in every iteration
	adapted := func(x mat.Tensor) mat.Tensor { return m.ForwardRows(x) }
	base := func(x mat.Tensor) mat.Tensor { return op.Linear(x, m.Base.W, m.Base.B) }
	for _, bench := range []struct {
		name     string
		forward  func(mat.Tensor) mat.Tensor
		backward bool
	}{
		{"forward", adapted, false},
		{"forward-backward", adapted, true},
		{"base-forward", base, false},
		{"base-forward-backward", base, true},
	} {
		b.Run(bench.name, func(b *testing.B) {
			for b.Loop() {
				y := bench.forward(x)
				if bench.backward {
					y.AccGrad(upstream)
					if err := ag.Backward(y); err != nil {
						b.Fatal(err)
					}
					m.A.ZeroGrad()
					m.B.ZeroGrad()
					x.ZeroGrad()
				}
			}
		})
	}
}
