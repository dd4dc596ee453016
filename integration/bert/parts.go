package bert

import (
	"runtime"
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
	cuts := m.batchCuts(p)
	if cuts == nil {
		return f(p)
	}
	parts := make([]mat.Tensor, len(cuts)-1)
	release := gemm.Occupy(len(parts))
	defer release()
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() { parts[i] = f(p.sequences(cuts[i], cuts[i+1])) })
	}
	wg.Wait()
	y := op.ConcatRows(parts...)
	m.recycle(y, parts...)
	return y
}

// batchCuts returns the boundaries of inParts' parts of p's sequences, or nil when it runs p
// whole: in training, with the split off, one sequence or one free core.
func (m *Model) batchCuts(p packed) []int {
	n, workers := len(p.lengths), gemm.Workers()
	if m.training || !splitBatches.Load() || n < 2 || workers < 2 {
		return nil
	}
	return balancedCuts(p.lengths, min(workers, n))
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

// splitRows enables the row split of a lone sequence (on by default); SetRowSplit switches it.
var splitRows atomic.Bool

func init() { splitRows.Store(true) }

// SetRowSplit makes the forward pass split the rows of a batch's lone sequence among the free
// cores (on, the default: in evaluation mode, and in training where every dropout of the encoder
// is hidden dropout; not for DeBERTa), or run it on one goroutine with each product split instead
// (off), and returns the previous setting. The results are the same bits either way; the switch
// is for benchmarks that compare both in one process.
func SetRowSplit(on bool) (was bool) { return splitRows.Swap(on) }

// minPartRows is the fewest rows of a sequence that rowParts gives a part.
const minPartRows = 8

// rowParts returns into how many parts of rows encode splits p: more than 1 for a lone sequence
// of at least 2·minPartRows tokens with cores free, an attention that does not read the tokens'
// positions (not DeBERTa's), and in training mode dropouts that a part can draw for its own rows
// (rowwiseDropout). In training at most 2: every part's attention reads the stacked keys and
// values, and spago sums the gradients of a node with three or more consumers in the order they
// arrive, which would make training differ from run to run in the last bits.
func (m *Model) rowParts(p packed) int {
	if m.deberta != nil || !splitRows.Load() || len(p.lengths) != 1 || (m.training && !m.rowwiseDropout()) {
		return 1
	}
	parts := min(gemm.Workers(), p.lengths[0]/minPartRows)
	if m.training {
		parts = min(parts, 2)
	}
	return max(1, parts)
}

// encodeRows is encode, or with firstOnly encodeFirst, for p's lone sequence, its rows split into
// parts contiguous parts, each run through the encoder on a goroutine of its own.
//
// Why: at batch 1 there is no batch to split, and a product split across cores is small enough
// that the cores spend much of it meeting (a MiniLM pass ran 1.15× faster on two cores than on
// one). A query row's attention reads the keys and values of every token of its sequence but
// nothing else of the other rows, so the parts meet once per layer, to put their keys and values
// together (keyExchange), and compute all else apart, each product whole on one core. In
// training each part draws its rows' masks of the full forward (masks.skip).
func (m *Model) encodeRows(p packed, parts int, firstOnly bool) mat.Tensor {
	length := p.lengths[0]
	ex := newKeyExchange(len(m.Layers), parts)
	outs := make([]mat.Tensor, parts)
	drops := make([]*masks, parts)
	release := gemm.Occupy(parts)
	var wg sync.WaitGroup
	for w := range parts {
		from, to := w*length/parts, (w+1)*length/parts
		q := p.tokenRows(from, to)
		if p.drop != nil {
			d := *p.drop
			d.skip, d.quiet = from, w != 0
			q.drop, drops[w] = &d, &d
		}
		wg.Go(func() { outs[w] = m.encodePart(q, length, w, ex, firstOnly) })
	}
	wg.Wait()
	release()
	if p.drop != nil {
		p.drop.site = drops[0].site // the sites part 0 went through: every one of the pass so far
	}
	if firstOnly {
		return outs[0]
	}
	y := op.ConcatRows(outs...)
	m.recycle(y, outs...)
	return y
}

// encodePart runs part w of encodeRows: q holds its rows of a sequence of length tokens. With
// firstOnly, part 0 (which holds the first token) returns that token's last hidden state and
// the other parts nil.
//
// Each layer's own nodes are recycled as in layer, its keys and values once the exchange has
// stacked them; the stacked ones, which every part reads, by the last part done with them.
func (m *Model) encodePart(q packed, length, w int, ex *keyExchange, firstOnly bool) mat.Tensor {
	x := m.embed(q)
	for i, l := range m.Layers {
		xqk, xv := op.CopyForGrad(x), op.CopyForGrad(x) // two consumers each, as in layer
		k := m.project(l.names.key, l.Key, xqk, nil)
		v := m.project(l.names.value, l.Value, xv, nil)
		ex.put(i, w, k, v)
		if firstOnly && i == len(m.Layers)-1 {
			if w != 0 {
				ex.done(i) // reads nothing; its keys and values may not be stacked yet: kept
				return nil
			}
			keys, values := ex.get(i)
			y, dead := m.firstTail(l, op.Gather(xqk, []int{0}), keys, values, []int{length}, q.drop)
			m.recycle(y, append(dead, x, xqk, xv, k, v)...)
			if ex.done(i) {
				m.recycle(y, keys, values)
			}
			return y
		}
		query := m.project(l.names.query, l.Query, xqk, nil) // while the other parts finish their keys
		keys, values := ex.get(i)
		ctx := op.AttentionQueries(query, keys, values, m.config.NumAttentionHeads, q.lengths, []int{length})
		y, dead := m.layerTail(l, ctx, xv, q.drop)
		m.recycle(y, append(dead, x, xqk, xv, k, v, query, ctx)...)
		if ex.done(i) {
			m.recycle(y, keys, values)
		}
		x = y
	}
	return x
}

// tokenRows returns rows [from, to) of p's lone sequence as a packed sequence of their own,
// their positions kept, without dropout masks (encodeRows gives it its own).
func (p packed) tokenRows(from, to int) packed {
	return packed{
		ids:       p.ids[from:to],
		positions: p.positions[from:to],
		types:     p.types[from:to],
		lengths:   []int{to - from},
		starts:    []int{0},
	}
}

// keyExchange puts together, layer by layer, the keys and values that the parts of encodeRows
// compute for their rows.
type keyExchange struct {
	layers []exchangeLayer
}

// exchangeLayer is one layer's exchange: each part puts its keys and values; the last to do so
// stacks them (every part reads the same nodes) and closes ready.
type exchangeLayer struct {
	mu           sync.Mutex
	keys, values []mat.Tensor // per part
	left         int          // parts yet to put theirs
	stacked      [2]mat.Tensor
	ready        chan struct{}
	reading      atomic.Int32 // parts not yet done with the stacked keys and values
}

func newKeyExchange(layers, parts int) *keyExchange {
	ex := &keyExchange{layers: make([]exchangeLayer, layers)}
	for i := range ex.layers {
		e := &ex.layers[i]
		e.keys, e.values, e.left, e.ready = make([]mat.Tensor, parts), make([]mat.Tensor, parts), parts, make(chan struct{})
		e.reading.Store(int32(parts))
	}
	return ex
}

// done records that a part has finished with the stacked keys and values of layer i (or will
// never read them), and reports whether it was the last: then nothing reads them any more.
func (ex *keyExchange) done(i int) (last bool) {
	return ex.layers[i].reading.Add(-1) == 0
}

// put hands over part w's keys and values of layer i.
func (ex *keyExchange) put(i, w int, keys, values mat.Tensor) {
	e := &ex.layers[i]
	e.mu.Lock()
	e.keys[w], e.values[w] = keys, values
	e.left--
	last := e.left == 0
	e.mu.Unlock()
	if last {
		e.stacked = [2]mat.Tensor{op.ConcatRows(e.keys...), op.ConcatRows(e.values...)}
		close(e.ready)
	}
}

// get returns the keys and values of every row of layer i, once every part has put its own. It
// yields for a while before it blocks: the parts arrive within microseconds of each other, and
// waking a parked goroutine can take longer than that.
func (ex *keyExchange) get(i int) (keys, values mat.Tensor) {
	e := &ex.layers[i]
	for range exchangeSpins {
		select {
		case <-e.ready:
			return e.stacked[0], e.stacked[1]
		default:
			runtime.Gosched()
		}
	}
	<-e.ready
	return e.stacked[0], e.stacked[1]
}

// exchangeSpins is how many times keyExchange.get yields before it blocks: some 15 µs.
const exchangeSpins = 100
