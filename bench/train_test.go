package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/train"
)

// BenchmarkTrainStep times one optimiser step of train.Fit per shape, method and batch size:
// forward, fused cross-entropy, backward, gradient clipping and AdamW, with hidden dropout 0.1
// and Fit's default Workers. ns/op is per step; pytorch_compare.py divides by the batch size.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range shapes {
		for _, m := range methods {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, m.name, batch), func(b *testing.B) {
					benchmarkFit(b, s, m.opts, batch, 0)
				})
			}
		}
	}
}

// BenchmarkWorkers times the HRA training step on MiniLM with a batch of 8 split across 1 and 2
// workers, beside gemm's own split of each product across the cores.
func BenchmarkWorkers(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("minilm/hra8/batch=8/workers=%d", workers), func(b *testing.B) {
			benchmarkFit(b, shapes[1], methods[2].opts, 8, workers)
		})
	}
}

// benchmarkFit runs train.Fit on batch random examples, one step per iteration. Fit runs on its
// own goroutine and waits in OnStep until the benchmark asks for the next step, so its set-up
// (AdamW's moments) and a first step, after which the adapters are no longer at their identity
// init, stay out of the timing.
func benchmarkFit(b *testing.B, s shape, opts bert.Options, batch, workers int) {
	opts.HiddenDropout = hiddenDropout
	model, err := bert.New(randomCheckpoint(s), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	next, done := make(chan struct{}), make(chan struct{})
	fitErr := make(chan error, 1)
	go func() {
		_, err := train.Fit(ctx, model, randomExamples(batch, 7), train.Options{
			Steps: 1 << 30, BatchSize: batch, Workers: workers, LR: 1e-4,
			OnStep: func(train.StepInfo) {
				done <- struct{}{}
				<-next
			},
		})
		fitErr <- err
		close(done)
	}()
	if _, ok := <-done; !ok {
		b.Fatal(<-fitErr)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		next <- struct{}{}
		if _, ok := <-done; !ok {
			b.Fatal(<-fitErr)
		}
	}
	cpu.report(b)
	cancel()
	next <- struct{}{}
	if err := <-fitErr; !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
}
