package train_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// BenchmarkFrozenPackingMiniLM measures the frozen-weight packings on the real all-MiniLM-L6-v2
// (skipped when not fetched), batches of 32-token sequences: inference (Logits, the encoder's
// weights frozen) and an HRA or LoRA adapter's forward and backward (frozen base weights). Each
// iteration runs a pass with the packings kept (after an untimed pass that packs them) and one
// with none kept (SetPackedLimit(0): every product packs its weight, as before), in ABBA order;
// reported is kept/none, the ratio of their times.
func BenchmarkFrozenPackingMiniLM(b *testing.B) {
	ck, err := checkpoint.LoadDir(testenv.Model(b, "all-MiniLM-L6-v2"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		opts     bert.Options
		backward bool
	}{
		{"inference", bert.Options{Targets: peft.DefaultBertTargets, NumLabels: 2}, false},
		{"hra8-train", bert.Options{Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets, NumLabels: 2}, true},
		{"lora8-train", bert.Options{Adapter: lora.Config{R: 8, Alpha: 16}, Targets: peft.DefaultBertTargets, NumLabels: 2}, true},
	} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, batch), func(b *testing.B) {
				model, err := bert.New(ck, c.opts)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(61, 61))
				input := bert.Batch{}
				for range batch {
					ids := []int{101}
					for range 30 {
						ids = append(ids, 1000+rng.IntN(20000))
					}
					input.IDs = append(input.IDs, append(ids, 102))
				}
				pass := func() {
					logits, err := model.Logits(input)
					if err != nil {
						b.Fatal(err)
					}
					if c.backward {
						if err := ag.Backward(ag.ReduceSum(logits)); err != nil {
							b.Fatal(err)
						}
						for _, p := range model.TrainableParams() {
							p.ZeroGrad()
						}
					}
				}
				defer gemm.SetPackedLimit(gemm.SetPackedLimit(0))
				timed := func(limit int64) time.Duration {
					gemm.SetPackedLimit(limit)
					if limit > 0 {
						pass() // packs the weights
					}
					start := time.Now()
					pass()
					return time.Since(start)
				}
				var tKept, tNone time.Duration
				for i := 0; b.Loop(); i++ {
					if i%2 == 0 { // ABBA order
						tNone += timed(0)
						tKept += timed(gemm.DefaultPackedLimit)
					} else {
						tKept += timed(gemm.DefaultPackedLimit)
						tNone += timed(0)
					}
				}
				b.ReportMetric(float64(tKept)/float64(tNone), "kept/none")
				b.ReportMetric(float64(tKept.Nanoseconds())/float64(b.N), "kept-ns/pass")
				b.ReportMetric(float64(tNone.Nanoseconds())/float64(b.N), "none-ns/pass")
			})
		}
	}
}
