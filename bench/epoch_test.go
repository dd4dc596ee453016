package bench

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/finetune"
)

// epochSteps, if positive, makes BenchmarkEpoch time that many optimiser steps and extrapolate
// their mean to the epoch, instead of training the whole epoch: pytorch_compare.py --quick uses
// it, and says so in its output.
var epochSteps = flag.Int("epoch-steps", 0, "BenchmarkEpoch: optimiser steps to time and extrapolate to the epoch (0: the whole epoch)")

// epochBatch is the batch size of BenchmarkEpoch, examples/compare's default.
const epochBatch = 32

// sharedDir is the project's shared data directory: $SPAGO_PEFT_SHARED, or ../../shared from this
// package's directory (beside the repository).
func sharedDir() string {
	if dir := os.Getenv("SPAGO_PEFT_SHARED"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared")
}

// BenchmarkEpoch trains one epoch of SST-2 at batch 32 on sst-bert-tiny with every method of
// examples/compare (finetune.Kinds with finetune.Method's defaults, query and value targets, no
// dropout; HRA without the orthogonality regulariser, as PEFT, where examples/compare's default
// λ is 1e-4), through finetune.Setup.Train and so train.Fit, as examples/compare does, without
// dev-set evaluations. It reports "epoch-s", the mean optimiser step's time times the epoch's
// steps (exactly the epoch's training time when -epoch-steps is 0), "step-ms" and "steps", the
// number of steps timed. Tokenising the data stays out of the timing.
func BenchmarkEpoch(b *testing.B) {
	model := filepath.Join(sharedDir(), "models", "sst-bert-tiny")
	data := filepath.Join(sharedDir(), "data", "sst2")
	for _, dir := range []string{model, data} {
		if _, err := os.Stat(dir); err != nil {
			b.Skipf("%s not found: BenchmarkEpoch needs the shared SST-2 data and sst-bert-tiny (set SPAGO_PEFT_SHARED)", dir)
		}
	}
	ctx := context.Background()
	setup, err := finetune.Prepare(ctx, finetune.Job{Model: model, Data: data})
	if err != nil {
		b.Fatal(err)
	}
	setup.DevSet = nil // timing training only
	epoch := (len(setup.TrainSet) + epochBatch - 1) / epochBatch
	for _, kind := range finetune.Kinds {
		b.Run("sst2/bert-tiny/"+kind+"/batch=32", func(b *testing.B) {
			adapter, full, err := finetune.Method{Kind: kind}.Adapter()
			if err != nil {
				b.Fatal(err)
			}
			job := finetune.Job{Adapter: adapter, FullFineTune: full, BatchSize: epochBatch, Epochs: 1, Seed: 42}
			if *epochSteps > 0 {
				job.Steps = min(*epochSteps, epoch)
			}
			rss := startRSS()
			var res *finetune.Result
			for b.Loop() {
				if res, err = setup.Train(ctx, job); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(res.StepTime.Seconds()*float64(epoch), "epoch-s")
			b.ReportMetric(float64(res.StepTime.Microseconds())/1e3, "step-ms")
			b.ReportMetric(float64(res.Steps), "steps")
			rss.report(b)
		})
	}
}
