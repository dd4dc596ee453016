package op

import (
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// Attention is multi-head scaled dot-product attention over packed sequences. q, k and v (each
// n×d) hold the full query, key and value projections of all tokens, the sequences of lengths
// stacked as rows (Σ lengths = n); head h owns columns [h·d/heads, (h+1)·d/heads). Row i of the
// result is, for each head, softmax(q_i·Kᵀ/√(d/heads))·V over the tokens of i's own sequence only,
// which equals a padded batch with an attention mask on the real tokens, without computing the
// padding. Heads are column slices of q, k and v: nothing is copied.
func Attention(q, k, v mat.Tensor, heads int, lengths []int) mat.Tensor {
	return AttentionDropout(q, k, v, heads, lengths, 0, nil)
}

// AttentionDropout is Attention with dropout on the attention probabilities, as Hugging Face's
// BERT applies attention_probs_dropout_prob in training: each probability is zeroed with
// probability p, drawn from rng when the operator is built, and the others are scaled by 1/(1−p)
// before they weight the values. p must be in [0, 1); with p = 0, rng is not used and may be nil.
func AttentionDropout(q, k, v mat.Tensor, heads int, lengths []int, p float64, rng rand.Source) mat.Tensor {
	MustShape(p >= 0 && p < 1, "AttentionDropout: probability %g outside [0, 1)", p)
	MustShape(p == 0 || rng != nil, "AttentionDropout: probability %g without a generator", p)
	return newAttention("Attention", q, k, v, heads, lengths, lengths, p, rng)
}

// AttentionQueries is Attention for only some query rows of each sequence, against all of its
// key and value rows. Without a causal mask a row's output depends only on its own query and on
// the whole sequence's keys and values, so the rows of a sequence can be computed in parts: the
// encoder's last layer for the first ([CLS]) token of each sequence only, which is all a
// classifier reads, or one sequence's queries split between goroutines.
//
// k and v are (Σ keyLengths)×d, sequence s owning keyLengths[s] ≥ 1 consecutive rows, as
// Attention's lengths; q is (Σ queryLengths)×d, sequence s owning queryLengths[s] ≥ 0
// consecutive rows, any of its tokens in any order (0: none of its rows in this part). Row i of
// the result (Σ queryLengths)×d is the attention of query row i over its sequence, the same
// bits as the row of Attention for the same query (TestAttentionQueriesBitIdentical), because
// gemm gives a row the same bits whatever rows surround it (TestRowsIndependentOfProduct). No
// dropout of the probabilities: where that applies, the encoder runs Attention whole; the
// gradients of q, k and v flow as Attention's.
func AttentionQueries(q, k, v mat.Tensor, heads int, queryLengths, keyLengths []int) mat.Tensor {
	return newAttention("AttentionQueries", q, k, v, heads, queryLengths, keyLengths, 0, nil)
}

// newAttention checks the shapes and builds the attention operator; name prefixes its errors.
func newAttention(name string, q, k, v mat.Tensor, heads int, queryLengths, keyLengths []int, p float64, rng rand.Source) mat.Tensor {
	n, d := Dims(q)
	kn, kd := Dims(k)
	vn, vd := Dims(v)
	MustShape(vn == kn && kd == d && vd == d, "%s: q is %d×%d, k %d×%d, v %d×%d", name, n, d, kn, kd, vn, vd)
	MustShape(heads > 0 && d%heads == 0, "%s: %d columns do not split into %d heads", name, d, heads)
	MustShape(len(queryLengths) == len(keyLengths), "%s: %d query lengths for %d sequences", name, len(queryLengths), len(keyLengths))
	queries, keys := 0, 0
	for s, l := range keyLengths {
		MustShape(l > 0, "%s: sequence length %d", name, l)
		MustShape(queryLengths[s] >= 0, "%s: %d query rows", name, queryLengths[s])
		keys += l
		queries += queryLengths[s]
	}
	MustShape(keys == kn, "%s: sequence lengths add up to %d, k has %d rows", name, keys, kn)
	MustShape(queries == n, "%s: query lengths add up to %d, q has %d rows", name, queries, n)
	return Build(q,
		func() ag.AutoGradFunction {
			return &attention[float32]{q: q, k: k, v: v, heads: heads, queryLengths: queryLengths, lengths: keyLengths, dropout: p, rng: rng}
		},
		func() ag.AutoGradFunction {
			return &attention[float64]{q: q, k: k, v: v, heads: heads, queryLengths: queryLengths, lengths: keyLengths, dropout: p, rng: rng}
		})
}

// attention is the operator of Attention, AttentionDropout and AttentionQueries: Attention's is
// the case queryLengths = lengths, where q, k and v have the same rows.
type attention[T float.DType] struct {
	q, k, v mat.Tensor
	heads   int
	// queryLengths are the rows of q per sequence, lengths those of k and v (the sequences).
	queryLengths, lengths []int
	probs                 []T // per sequence and head, its queries×length attention probabilities
	dropout               float64
	rng                   rand.Source
	// kept is, with dropout, 0 or 1/(1−p) for each probability (nil without dropout), and
	// dropped the probabilities times kept, which weight the values.
	kept, dropped []T
}

func (f *attention[T]) Operands() []mat.Tensor { return []mat.Tensor{f.q, f.k, f.v} }

// block locates the work of one (sequence, head) pair.
type block struct {
	qrow, queries int // first query row of the sequence and its number of query rows
	row, length   int // first key and value row of the sequence and its length
	col           int // first column of the head
	probs         int // offset of its queries×length probabilities
}

// blocks returns the (sequence, head) pairs, sequence-major, and the size of all probabilities.
func (f *attention[T]) blocks() ([]block, int) {
	_, d := Dims(f.q)
	dh := d / f.heads
	bs := make([]block, 0, len(f.lengths)*f.heads)
	qrow, row, off := 0, 0, 0
	for s, l := range f.lengths {
		ql := f.queryLengths[s]
		for h := 0; h < f.heads; h++ {
			bs = append(bs, block{qrow: qrow, queries: ql, row: row, length: l, col: h * dh, probs: off})
			off += ql * l
		}
		qrow += ql
		row += l
	}
	return bs, off
}

func (f *attention[T]) scale() T {
	_, d := Dims(f.q)
	return T(1 / math.Sqrt(float64(d/f.heads)))
}

func (f *attention[T]) Forward() (mat.Tensor, error) {
	n, d := Dims(f.q)
	dh := d / f.heads
	q, k, v := Values[T](f.q), Values[T](f.k), Values[T](f.v)
	bs, size := f.blocks()
	// Only a backward pass reads the probabilities after Forward: without one (no operand
	// requires gradients) they are scratch, each goroutine keeping a block's in a buffer of its
	// own; with dropout too, they are taken and given back like an output buffer (every block's
	// are written by a product, or the short path's kernel, which does not read them).
	keep := f.q.RequiresGrad() || f.k.RequiresGrad() || f.v.RequiresGrad()
	discard := f.dropout == 0 && !keep
	switch {
	case keep:
		f.probs = make([]T, size)
	case !discard:
		f.probs = scratchBuffer[T](size)
		defer func() {
			releaseScratch(f.probs)
			f.probs = nil
		}()
	}
	if f.dropout > 0 {
		// Drawn here, in one goroutine, so that the masks depend on rng alone. Each block's
		// dropped probabilities are written by weights before they are read.
		f.kept, f.dropped = dropoutMask[T](size, f.dropout, f.rng), scratchBuffer[T](size)
		if !keep {
			defer func() {
				releaseScratch(f.kept)
				releaseScratch(f.dropped)
				f.kept, f.dropped = nil, nil
			}()
		}
	}
	// Every query row and head column is written by a product with beta 0: a sequence without
	// query rows owns no rows of y.
	y := outputBuffer[T](n * d)
	scale := f.scale()
	Parallel(len(bs), 1, func(from, to int) {
		var sc shortScratch
		var scratch []T // the probabilities of a block, when discarded
		for _, b := range bs[from:to] {
			if b.queries == 0 {
				continue // and its first query row may lie past q's end
			}
			m, l, qat, kat := b.queries, b.length, b.qrow*d+b.col, b.row*d+b.col
			var p []T
			if discard {
				if cap(scratch) < m*l {
					scratch = make([]T, m*l)
				}
				p = scratch[:m*l]
			} else {
				p = f.probs[b.probs : b.probs+m*l]
			}
			if shortBlock[T](l, dh) {
				q32, k32, v32, y32, p32 := any(q).([]float32), any(k).([]float32), any(v).([]float32), any(y).([]float32), any(p).([]float32)
				sc.shortScores(p32, q32, k32, qat, kat, m, l, dh, d, float32(scale))
				shortValues(y32, any(f.weights(b, p)).([]float32), v32, qat, kat, m, l, dh, d)
				continue
			}
			gemm.Gemm(false, true, m, l, dh, scale, q[qat:], d, k[kat:], d, 0, p, l)
			for i := 0; i < m; i++ {
				softmax(p[i*l : (i+1)*l])
			}
			gemm.Gemm(false, false, m, dh, l, 1, f.weights(b, p), l, v[kat:], d, 0, y[qat:], d)
		}
	})
	return NewDense(n, d, y), nil
}

// weights returns the probabilities p of block b that weight the values: the probabilities
// themselves, or with dropout their kept and rescaled part (which it computes).
func (f *attention[T]) weights(b block, p []T) []T {
	if f.kept == nil {
		return p
	}
	w, kept := f.dropped[b.probs:b.probs+len(p)], f.kept[b.probs:b.probs+len(p)]
	for i, pv := range p {
		w[i] = pv * kept[i]
	}
	return w
}

// Backward, per sequence and head, with P the probabilities, D = P⊙M the probabilities after
// dropout (M the kept mask; D = P without dropout) and G the upstream gradient: ∂V = Dᵀ·G;
// ∂P = (G·Vᵀ)⊙M; the softmax gives ∂S = P⊙(∂P − rowsum(∂P⊙P)); then ∂Q = scale·∂S·K and
// ∂K = scale·∂Sᵀ·Q. P is queries×length, so ∂V and ∂K sum over the block's query rows only.
func (f *attention[T]) Backward(gy mat.Tensor) error {
	needQ, needK, needV := f.q.RequiresGrad(), f.k.RequiresGrad(), f.v.RequiresGrad()
	n, d := Dims(f.q)
	kn, _ := Dims(f.k)
	dh := d / f.heads
	q, k, v, g := Values[T](f.q), Values[T](f.k), Values[T](f.v), Values[T](gy)
	maxBlock, empty := 0, false
	for s, l := range f.lengths {
		maxBlock = max(maxBlock, f.queryLengths[s]*l)
		empty = empty || f.queryLengths[s] == 0
	}
	var gq, gk, gv []T
	// Every (sequence, head) block writes its rows and columns of each, except that a sequence
	// without query rows leaves its key and value rows alone: only then are they cleared.
	if needQ {
		gq = gradBuffer[T](n*d, false)
	}
	if needK {
		gk = gradBuffer[T](kn*d, empty)
	}
	if needV {
		gv = gradBuffer[T](kn*d, empty)
	}
	bs, _ := f.blocks()
	scale := f.scale()
	Parallel(len(bs), 1, func(from, to int) {
		dp := make([]T, maxBlock)
		var sc shortScratch
		for _, b := range bs[from:to] {
			if b.queries == 0 {
				continue
			}
			m, l, qat, kat := b.queries, b.length, b.qrow*d+b.col, b.row*d+b.col
			p := f.probs[b.probs : b.probs+m*l]
			if shortBlock[T](l, dh) {
				w, kept := p, []T(nil)
				if f.kept != nil {
					w, kept = f.dropped[b.probs:b.probs+m*l], f.kept[b.probs:b.probs+m*l]
				}
				sc.shortGrads(f32s(gq), f32s(gk), f32s(gv), f32s(q), f32s(k), f32s(v), f32s(g), f32s(p), f32s(w), f32s(kept),
					qat, kat, m, l, dh, d, float32(scale))
				continue
			}
			if needV {
				w := p
				if f.kept != nil {
					w = f.dropped[b.probs : b.probs+m*l]
				}
				gemm.Gemm(true, false, l, dh, m, 1, w, l, g[qat:], d, 0, gv[kat:], d)
			}
			if !needQ && !needK {
				continue
			}
			ds := dp[:m*l]
			gemm.Gemm(false, true, m, l, dh, 1, g[qat:], d, v[kat:], d, 0, ds, l)
			if f.kept != nil {
				for i, mk := range f.kept[b.probs : b.probs+m*l] {
					ds[i] *= mk
				}
			}
			for i := 0; i < m; i++ {
				pr, dr := p[i*l:(i+1)*l], ds[i*l:(i+1)*l]
				var s T
				for j, pv := range pr {
					s += pv * dr[j]
				}
				for j, pv := range pr {
					dr[j] = pv * (dr[j] - s)
				}
			}
			if needQ {
				gemm.Gemm(false, false, m, dh, l, scale, ds, l, k[kat:], d, 0, gq[qat:], d)
			}
			if needK {
				gemm.Gemm(true, false, l, dh, m, scale, ds, l, q[qat:], d, 0, gk[kat:], d)
			}
		}
	})
	if needQ {
		accGrad(f.q, gq)
	}
	if needK {
		accGrad(f.k, gk)
	}
	if needV {
		accGrad(f.v, gv)
	}
	return nil
}
