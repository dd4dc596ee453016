package bench

import (
	"fmt"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// inferenceCases are the models timed by BenchmarkInference: the base model, each adapter
// merged into the weights, which should cost what the base does, and HRA unmerged (from random
// vectors, whose reflections do not cancel as the paired init's do).
var inferenceCases = []struct {
	name  string
	opts  bert.Options
	merge bool
}{
	{"base", methods[0].opts, false},
	{"hra8-merged", methods[2].opts, true},
	{"lora8-merged", methods[3].opts, true},
	{"oft32-merged", methods[4].opts, true},
	{"hra8-unmerged", bert.Options{Adapter: hra.Config{R: 8, Init: hra.RandomInit}, Targets: peft.DefaultBertTargets}, false},
}

// BenchmarkInference times the classification logits of a batch in evaluation mode.
func BenchmarkInference(b *testing.B) {
	for _, s := range shapes {
		for _, c := range inferenceCases {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, c.name, batch), func(b *testing.B) {
					rss := startRSS()
					model, err := bert.New(randomCheckpoint(s), c.opts)
					if err != nil {
						b.Fatal(err)
					}
					if c.merge {
						if err := model.Merge(); err != nil {
							b.Fatal(err)
						}
					}
					input := batchOf(randomExamples(batch, 9))
					for range warmUpCalls { // as PyTorch's side: the first call packs the frozen weights
						if _, err := model.Logits(input); err != nil {
							b.Fatal(err)
						}
					}
					settle()
					b.ReportAllocs()
					cpu := startCPU()
					for b.Loop() {
						logits, err := model.Logits(input)
						if err != nil {
							b.Fatal(err)
						}
						logits.Value()
					}
					cpu.report(b)
					rss.report(b)
				})
			}
		}
	}
}

// BenchmarkMergedInference runs the base model and a model with merged adapters alternately, one
// call of each per iteration in alternating order, and reports the ratio of their times as "merged/base": alternating
// calls share whatever load the machine has, so the ratio holds where the times drift.
func BenchmarkMergedInference(b *testing.B) {
	for _, s := range shapes {
		for _, c := range inferenceCases[1:4] {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, c.name, batch), func(b *testing.B) {
					base, err := bert.New(randomCheckpoint(s), inferenceCases[0].opts)
					if err != nil {
						b.Fatal(err)
					}
					merged, err := bert.New(randomCheckpoint(s), c.opts)
					if err != nil {
						b.Fatal(err)
					}
					if err := merged.Merge(); err != nil {
						b.Fatal(err)
					}
					input := batchOf(randomExamples(batch, 9))
					run := func(m *bert.Model) {
						logits, err := m.Logits(input)
						if err != nil {
							b.Fatal(err)
						}
						logits.Value()
					}
					tBase, tMerged := alternate(b, func() { run(base) }, func() { run(merged) })
					b.ReportMetric(float64(tMerged)/float64(tBase), "merged/base")
				})
			}
		}
	}
}
