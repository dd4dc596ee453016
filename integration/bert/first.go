package bert

import (
	"sync/atomic"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/op"
)

// firstTokensOnly enables encodeFirst's shortcut (on by default); SetFirstTokensOnly switches it.
var firstTokensOnly atomic.Bool

func init() { firstTokensOnly.Store(true) }

// SetFirstTokensOnly makes Logits compute the last encoder layer only for the first token of
// each sequence, the one its classification head reads (on, the default: in evaluation mode, and
// in training where every dropout of the encoder is hidden dropout), or for every token (off),
// and returns the previous setting. The logits are the same bits either way; the switch is for
// benchmarks that compare both in one process.
func SetFirstTokensOnly(on bool) (was bool) { return firstTokensOnly.Swap(on) }

// encodeFirst returns the last hidden state of each sequence's first token, one row per sequence.
//
// Why: a sequence classifier reads only that row, and in the last layer it depends on the
// other tokens only through their keys and values; their queries, attention outputs and
// feed-forward rows are never read. Computing the last layer's keys and values for every token
// and the rest for the first ones saves 10 of its 12 d×d-sized products: some 14 % of a
// 6-layer model's work and 7 % of a 12-layer one's. In training, the first rows get the masks
// the whole layer would draw for them (masks.first); where a dropout cannot be drawn for some
// rows alone (rowwiseDropout), and for DeBERTa's disentangled attention, which reads the
// queries' positions, the whole layer runs.
func (m *Model) encodeFirst(p packed) mat.Tensor {
	if !m.firstOnly() {
		x := m.encode(p)
		first := op.Gather(x, p.starts)
		m.recycle(first, x)
		return first
	}
	if parts := m.rowParts(p); parts > 1 {
		return m.encodeRows(p, parts, true)
	}
	x := m.embed(p)
	last := len(m.Layers) - 1
	for _, l := range m.Layers[:last] {
		x = m.layer(l, x, p)
	}
	return m.lastLayerFirst(m.Layers[last], x, p.starts, p.lengths, p.drop)
}

// firstOnly reports whether encodeFirst computes the last layer for the first tokens only.
func (m *Model) firstOnly() bool {
	return m.deberta == nil && firstTokensOnly.Load() && len(m.Layers) > 0 && (!m.training || m.rowwiseDropout())
}

// lastLayerFirst is layer l for the first token of each sequence only, at rows starts of x,
// which holds every token; as layer, it may recycle x.
func (m *Model) lastLayerFirst(l *Layer, x mat.Tensor, starts, lengths []int, d *masks) mat.Tensor {
	xk := op.CopyForGrad(x) // x, xk and first have two consumers each, as in layer
	first := op.Gather(xk, starts)
	k := m.project(l.names.key, l.Key, xk, nil)
	v := m.project(l.names.value, l.Value, x, nil)
	y, dead := m.firstTail(l, first, k, v, lengths, d)
	m.recycle(y, append(dead, x, xk, k, v)...)
	return y
}

// firstTail is the rest of layer l for the first token's row of each sequence, first, given the
// keys and values of every token of sequences of the given lengths. As layerTail, it returns
// the nodes it made on the way to y, first included; not k and v.
func (m *Model) firstTail(l *Layer, first, k, v mat.Tensor, lengths []int, d *masks) (y mat.Tensor, dead []mat.Tensor) {
	q := m.project(l.names.query, l.Query, first, nil)
	ones := make([]int, len(lengths))
	for s := range ones {
		ones[s] = 1
	}
	ctx := op.AttentionQueries(q, k, v, m.config.NumAttentionHeads, ones, lengths)
	if d != nil {
		d.first = true // the rest of the layer drops the first rows only
		defer func() { d.first = false }()
	}
	y, dead = m.layerTail(l, ctx, first, d)
	return y, append(dead, first, q, ctx)
}

// rowwiseDropout reports whether every dropout of the encoder in training mode is drawn row by
// row of its tokens (hidden dropout), so that a part of the rows can draw its own masks: not so
// with attention dropout or an adapter that drops its own input.
func (m *Model) rowwiseDropout() bool {
	return m.attnDrop == 0 && !m.adaptersDrop()
}
