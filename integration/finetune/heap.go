package finetune

import (
	"runtime/metrics"
	"sync"
	"time"
)

// heapMetric is the Go heap's bytes in objects, live or not yet swept: what the garbage
// collector lets grow between cycles.
const heapMetric = "/memory/classes/heap/objects:bytes"

// heapSampler records the largest Go heap seen by a goroutine that polls it.
type heapSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// heapSampleEvery is how often the heap is sampled; a training step of a small model takes tens
// of milliseconds, so this sees the heap near its peak within each step.
const heapSampleEvery = 2 * time.Millisecond

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{})}
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			h.peak = max(h.peak, sample[0].Value.Uint64())
		}
	}
	read()
	h.wg.Go(func() {
		tick := time.NewTicker(heapSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-h.done:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	})
	return h
}

// stop ends the sampling and returns the peak.
func (h *heapSampler) stop() uint64 {
	close(h.done)
	h.wg.Wait()
	return h.peak
}
