package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/ag"
)

// BenchmarkShortAttention times Attention on MiniLM's (12 heads of 32 columns) and bert-base's
// (12 of 64) projections of 1 and 8 sequences of 32 tokens, the forward pass alone without
// gradients ("inference") or the forward and backward pass with them ("training"), with the
// short path on and off alternately (ABBA, one pass of each per iteration). It reports the
// ratio of the summed times as "on/off" and the mean time per pass of each.
func BenchmarkShortAttention(b *testing.B) {
	if !shortCapable {
		b.Skip("no AVX-512F")
	}
	for _, c := range []struct {
		name  string
		dh    int
		batch int
	}{{"minilm", 32, 1}, {"minilm", 32, 8}, {"bert-base", 64, 1}, {"bert-base", 64, 8}} {
		for _, training := range []bool{false, true} {
			mode := "inference"
			if training {
				mode = "training"
			}
			b.Run(fmt.Sprintf("%s/%s/batch=%d", c.name, mode, c.batch), func(b *testing.B) {
				const heads, length = 12, 32
				lengths := make([]int, c.batch)
				for i := range lengths {
					lengths[i] = length
				}
				rng := rand.New(rand.NewPCG(1, uint64(c.dh)))
				x, _ := shortInputs(rng, heads, c.dh, lengths)
				upstream, _ := shortInputs(rng, heads, c.dh, lengths)
				for _, m := range x {
					m.SetRequiresGrad(training)
				}
				pass := func(short bool) time.Duration {
					defer SetShortAttention(SetShortAttention(short))
					start := time.Now()
					y := Attention(x[0], x[1], x[2], heads, lengths)
					y.Value()
					if training {
						y.AccGrad(upstream[0])
						if err := ag.Backward(y); err != nil {
							b.Fatal(err)
						}
					}
					elapsed := time.Since(start)
					for _, m := range x {
						m.ZeroGrad()
					}
					return elapsed
				}
				var on, off time.Duration
				for i := 0; b.Loop(); i++ {
					if i%2 == 0 {
						on += pass(true)
						off += pass(false)
					} else {
						off += pass(false)
						on += pass(true)
					}
				}
				b.ReportMetric(float64(on)/float64(off), "on/off")
				b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "ns-on/pass")
				b.ReportMetric(float64(off.Nanoseconds())/float64(b.N), "ns-off/pass")
			})
		}
	}
}
