package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// adapterConfigs are the adapters timed against the bare layer ("base"). HRA starts from random
// vectors and the LoRA and OFT parameters are randomised below: at their identity init, HRA's
// paired reflections cancel and OFT's rotations are skipped, which a trained adapter never has.
var adapterConfigs = []struct {
	name   string
	config peft.Config
}{
	{"base", nil},
	{"hra8", hra.Config{R: 8, Init: hra.RandomInit}},
	{"lora8", lora.Config{R: 8, Alpha: 16}},
	{"oft32", oft.Config{BlockSize: 32}},
}

// BenchmarkAdapter times the forward and backward pass of one square linear layer on the 32
// tokens of a sequence, with each adapter and bare. The input requires its gradient, as every
// layer's above the embeddings does; the base weights are frozen.
func BenchmarkAdapter(b *testing.B) {
	for _, d := range []int{768, 384} {
		for _, a := range adapterConfigs {
			b.Run(fmt.Sprintf("d=%d/%s", d, a.name), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, uint64(d)))
				base := &linear.Model{
					W: nn.NewParam(denseOf(rng, d, d)),
					B: nn.NewParam(denseOf(rng, d, 1)),
				}
				base.W.SetRequiresGrad(false) // the bare layer is frozen, as an adapter freezes it
				base.B.SetRequiresGrad(false)
				forward := func(x mat.Tensor) mat.Tensor { return op.Linear(x, base.W, base.B) }
				var params []*nn.Param
				if a.config != nil {
					adapter, err := a.config.New(base, rng)
					if err != nil {
						b.Fatal(err)
					}
					params = adapter.TrainableParams()
					for _, p := range params {
						randomize(rng, p)
					}
					forward = adapter.ForwardRows
				}
				x := denseOf(rng, seqLen, d)
				x.SetRequiresGrad(true)
				upstream := denseOf(rng, seqLen, d)
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					y := forward(x)
					y.AccGrad(upstream)
					if err := ag.Backward(y); err != nil {
						b.Fatal(err)
					}
					x.ZeroGrad()
					for _, p := range params {
						p.ZeroGrad()
					}
				}
				cpu.report(b)
			})
		}
	}
}

// denseOf returns a rows×cols float32 matrix of values uniform in ±0.05.
func denseOf(rng *rand.Rand, rows, cols int) *mat.Dense[float32] {
	x := randomSlice(rng, rows*cols)
	for i := range x {
		x[i] *= 0.05
	}
	return op.NewDense(rows, cols, x)
}

// randomize fills p with values uniform in ±0.05.
func randomize(rng *rand.Rand, p *nn.Param) {
	rows, cols := op.Dims(p)
	p.ReplaceValue(denseOf(rng, rows, cols))
}
