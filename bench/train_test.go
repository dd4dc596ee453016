package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/train"
)

// warmUpCalls is the number of untimed calls before a benchmark's loop, as pytorch_compare.py
// makes on PyTorch's side: the first call packs the frozen weights (op.WeightProduct) and, in
// training, allocates the optimiser's moments.
const warmUpCalls = 2

// settle collects the garbage of a benchmark's setup (a random checkpoint of hundreds of MB and
// the model built from it) before its timed calls, as testing does before running a benchmark
// function: otherwise the collector's background workers take turns with the timed calls on the
// same two cores for the first hundreds of milliseconds.
func settle() { runtime.GC() }

// BenchmarkTrainStep times one optimiser step of train.Fit per shape, method and batch size:
// forward, fused cross-entropy, backward, gradient clipping and AdamW, with hidden dropout 0.1
// and Fit's default Workers. ns/op is per step; pytorch_compare.py divides by the batch size.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range shapes {
		for _, m := range methods {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, m.name, batch), func(b *testing.B) {
					rss := startRSS()
					f := startFit(b, s, m.opts, batch, 0)
					defer f.stop(b)
					for range warmUpCalls { // packs the frozen weights, allocates AdamW's moments
						f.step(b)
					}
					settle()
					b.ReportAllocs()
					cpu := startCPU()
					for b.Loop() {
						f.step(b)
					}
					cpu.report(b)
					rss.report(b)
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
			f := startFit(b, shapes[1], methods[2].opts, 8, workers)
			defer f.stop(b)
			b.ReportAllocs()
			for b.Loop() {
				f.step(b)
			}
		})
	}
}

// BenchmarkAdapterOverhead times training steps with each adapter and with the frozen model
// (whose backward runs through every layer too) alternately, one of each per iteration in
// alternating order, and reports the ratio of their times as "adapter/frozen": alternating steps share whatever load the
// machine has, so the ratio holds where the times themselves drift.
func BenchmarkAdapterOverhead(b *testing.B) {
	for _, s := range shapes {
		for _, m := range methods[2:5] {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, m.name, batch), func(b *testing.B) {
					frozen := startFit(b, s, methods[1].opts, batch, 0)
					defer frozen.stop(b)
					adapted := startFit(b, s, m.opts, batch, 0)
					defer adapted.stop(b)
					tFrozen, tAdapted := alternate(b, func() { frozen.step(b) }, func() { adapted.step(b) })
					b.ReportMetric(float64(tAdapted)/float64(tFrozen), "adapter/frozen")
				})
			}
		}
	}
}

// fit is a train.Fit running on its own goroutine one step at a time: it waits in OnStep until
// step asks for the next one.
type fit struct {
	cancel     context.CancelFunc
	next, done chan struct{} // done gets a value after each step and is closed when Fit returns
	err        error         // Fit's, once done is closed
}

// startFit builds a model of shape s with opts and hidden dropout, starts train.Fit on batch
// random examples and waits for its first step, so that Fit's set-up (AdamW's moments) and the
// step after which the adapters are no longer at their identity init stay out of the timing.
func startFit(b *testing.B, s shape, opts bert.Options, batch, workers int) *fit {
	opts.HiddenDropout = hiddenDropout
	model, err := bert.New(randomCheckpoint(s), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fit{cancel: cancel, next: make(chan struct{}), done: make(chan struct{})}
	go func() {
		_, f.err = train.Fit(ctx, model, randomExamples(batch, 7), train.Options{
			Steps: 1 << 30, BatchSize: batch, Workers: workers, LR: 1e-4,
			OnStep: func(train.StepInfo) {
				f.done <- struct{}{}
				<-f.next
			},
		})
		close(f.done)
	}()
	if _, ok := <-f.done; !ok {
		b.Fatal(f.err)
	}
	return f
}

// step runs one optimiser step.
func (f *fit) step(b *testing.B) {
	f.next <- struct{}{}
	if _, ok := <-f.done; !ok {
		b.Fatal(f.err)
	}
}

// stop ends Fit, which returns context.Canceled, unless it failed already.
func (f *fit) stop(b *testing.B) {
	f.cancel()
	select {
	case f.next <- struct{}{}:
	case <-f.done:
	}
	for range f.done {
	}
	if !errors.Is(f.err, context.Canceled) && !b.Failed() {
		b.Fatal(f.err)
	}
}
