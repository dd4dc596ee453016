package bert

import (
	"sync"
	"sync/atomic"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// splitBatches enables inParts' split (on by default); SetBatchSplit switches it.
var splitBatches atomic.Bool

func init() { splitBatches.Store(true) }

// SetBatchSplit makes the forward pass in evaluation mode split a batch of several sequences
// among the free cores (on, the default) or run it whole with each product split instead
// (off), and returns the previous setting. The results are the same bits either way; the
// switch is for benchmarks that compare both in one process.
func SetBatchSplit(on bool) (was bool) { return splitBatches.Swap(on) }

// inParts returns f(p). In evaluation mode, with more than one sequence and more than one free
// core, it splits p's sequences into contiguous parts of about equal numbers of tokens, one per
// free core, runs f on each part on a goroutine of its own, and stacks the rows of the results
// in order: f must return rows that belong to the part's sequences (tokens or sequences).
//
// Why: in a product split across cores, the cores meet at every phase of every product, and at
// batch 8 a MiniLM pass keeps two cores only some 1.7 cores busy; parts of a batch meet once, and
// their products run whole on one core each (gemm.Occupy). Nothing changes in the results: a
// sequence's rows are computed by the same kernels whatever rows share their products.
func (m *Model) inParts(p packed, f func(packed) mat.Tensor) mat.Tensor {
	n := len(p.lengths)
	workers := gemm.Workers()
	if m.training || !splitBatches.Load() || n < 2 || workers < 2 {
		return f(p)
	}
	cuts := balancedCuts(p.lengths, min(workers, n))
	parts := make([]mat.Tensor, len(cuts)-1)
	release := gemm.Occupy(len(parts))
	defer release()
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() { parts[i] = f(p.sequences(cuts[i], cuts[i+1])) })
	}
	wg.Wait()
	return op.ConcatRows(parts...)
}

// balancedCuts splits sequences of the given lengths into k contiguous parts of about equal
// numbers of tokens, each of at least one sequence, and returns the k+1 boundaries.
func balancedCuts(lengths []int, k int) []int {
	total := 0
	for _, l := range lengths {
		total += l
	}
	cuts := []int{0}
	sum, s := 0, 0 // sum = Σ lengths[:s]
	for j := 1; j < k; j++ {
		// Part j−1 takes at least one sequence, and leaves one for each part after it.
		for s < len(lengths)-(k-j) && (s == cuts[j-1] || sum*k < total*j) {
			sum += lengths[s]
			s++
		}
		cuts = append(cuts, s)
	}
	return append(cuts, len(lengths))
}

// sequences returns the part of p that holds sequences [from, to), with no dropout (evaluation).
func (p packed) sequences(from, to int) packed {
	first := p.starts[from]
	last := p.starts[to-1] + p.lengths[to-1]
	q := packed{
		ids:       p.ids[first:last],
		positions: p.positions[first:last],
		types:     p.types[first:last],
		lengths:   p.lengths[from:to],
	}
	for _, s := range p.starts[from:to] {
		q.starts = append(q.starts, s-first)
	}
	return q
}
