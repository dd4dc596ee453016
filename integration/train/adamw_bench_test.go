package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
)

// encoderParamShapes returns the shapes of a BERT encoder's parameters: embeddings (word,
// position, type, LayerNorm) and layers of Q, K, V, attention output, FFN in and out, two
// LayerNorms.
func encoderParamShapes(vocab, hidden, ffn, layers int) [][2]int {
	shapes := [][2]int{{vocab, hidden}, {512, hidden}, {2, hidden}, {hidden, 1}, {hidden, 1}}
	for range layers {
		for range 4 {
			shapes = append(shapes, [2]int{hidden, hidden}, [2]int{hidden, 1})
		}
		shapes = append(shapes, [2]int{ffn, hidden}, [2]int{ffn, 1}, [2]int{hidden, ffn}, [2]int{hidden, 1})
		shapes = append(shapes, [2]int{hidden, 1}, [2]int{hidden, 1}, [2]int{hidden, 1}, [2]int{hidden, 1})
	}
	return shapes
}

// BenchmarkAdamW times one optimiser step over every parameter of an encoder (full fine-tuning)
// as the trainer takes it: gradient norm, clipping (always, max norm 1e-3) and AdamW. flat is
// the float32 path (norm and clipping in chunks over both cores; flat float32 moments, eight-wide
// kernel, both cores), previous the per-parameter loops it replaced (float64 moments). Each iteration runs both,
// in ABBA order; reported are flat/previous, the ratio of their times, and each one's ns per
// step. bert-base runs 4 of its 12 layers (52 M values), to stay within a shared machine's
// memory; the time per value is what matters.
func BenchmarkAdamW(b *testing.B) {
	for _, c := range []struct {
		name                       string
		vocab, hidden, ffn, layers int
	}{
		{"MiniLM", 30522, 384, 1536, 6},
		{"bert-base-4-layers", 30522, 768, 3072, 4},
	} {
		b.Run(fmt.Sprintf("shape=%s", c.name), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(51, 51))
			var params []*nn.Param
			values := 0
			for _, s := range encoderParamShapes(c.vocab, c.hidden, c.ffn, c.layers) {
				d := make([]float32, s[0]*s[1])
				for i := range d {
					d[i] = float32(rng.NormFloat64())
				}
				p := nn.NewParam(mat.NewDense[float32](mat.WithShape(s[0], s[1]), mat.WithBacking(d)))
				g := make([]float32, len(d))
				for i := range g {
					g[i] = float32(rng.NormFloat64() * 0.01)
				}
				p.AccGrad(mat.NewDense[float32](mat.WithShape(s[0], s[1]), mat.WithBacking(g)))
				params = append(params, p)
				values += len(d)
			}
			flat := newAdamW(params, 0.01)
			previous := newAdamW(params, 0.01)
			flatStep := func(lr float64) {
				clipGradients(params, gradNorm(params), 1e-3)
				flat.step(lr)
			}
			previousStep := func(lr float64) {
				sum := 0.0
				for _, p := range params {
					sum += sumSquares(op.Values[float32](p.Grad()))
				}
				coef := 1e-3 / (math.Sqrt(sum) + 1e-6)
				for _, p := range params {
					scaleInPlace(op.Values[float32](p.Grad()), coef)
				}
				for i, p := range params {
					st := &previous.states[i]
					if st.m == nil {
						st.m, st.v = make([]float64, p.Size()), make([]float64, p.Size())
					}
					st.step++
					adamUpdate(op.Values[float32](p), op.Values[float32](p.Grad()), st, lr, previous.weightDecay)
				}
			}
			timed := func(f func(float64)) time.Duration {
				start := time.Now()
				f(1e-5)
				return time.Since(start)
			}
			timed(flatStep)
			timed(previousStep)
			runtime.GC()
			var tFlat, tPrevious time.Duration
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 { // ABBA order, so neither runs first always
					tPrevious += timed(previousStep)
					tFlat += timed(flatStep)
				} else {
					tFlat += timed(flatStep)
					tPrevious += timed(previousStep)
				}
			}
			b.ReportMetric(float64(tFlat)/float64(tPrevious), "flat/previous")
			b.ReportMetric(float64(tFlat.Nanoseconds())/float64(b.N), "flat-ns/step")
			b.ReportMetric(float64(tPrevious.Nanoseconds())/float64(b.N), "previous-ns/step")
			b.ReportMetric(float64(values)/1e6, "Mvalues")
			b.ReportMetric(testing.AllocsPerRun(2, func() { flatStep(1e-5) }), "flat-allocs/step")
		})
	}
}
