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
func AttentionDropout(q, k, v mat.Tensor, heads int, lengths []int, p float64, rng *rand.Rand) mat.Tensor {
	MustShape(p >= 0 && p < 1, "AttentionDropout: probability %g outside [0, 1)", p)
	MustShape(p == 0 || rng != nil, "AttentionDropout: probability %g without a generator", p)
	n, d := Dims(q)
	kn, kd := Dims(k)
	vn, vd := Dims(v)
	MustShape(kn == n && vn == n && kd == d && vd == d, "Attention: q is %d×%d, k %d×%d, v %d×%d", n, d, kn, kd, vn, vd)
	MustShape(heads > 0 && d%heads == 0, "Attention: %d columns do not split into %d heads", d, heads)
	total := 0
	for _, l := range lengths {
		MustShape(l > 0, "Attention: sequence length %d", l)
		total += l
	}
	MustShape(total == n, "Attention: sequence lengths add up to %d, q has %d rows", total, n)
	return Build(q,
		func() ag.AutoGradFunction {
			return &attention[float32]{q: q, k: k, v: v, heads: heads, lengths: lengths, dropout: p, rng: rng}
		},
		func() ag.AutoGradFunction {
			return &attention[float64]{q: q, k: k, v: v, heads: heads, lengths: lengths, dropout: p, rng: rng}
		})
}

type attention[T float.DType] struct {
	q, k, v mat.Tensor
	heads   int
	lengths []int
	probs   []T // per sequence and head, the l×l attention probabilities
	dropout float64
	rng     *rand.Rand
	// kept is, with dropout, 0 or 1/(1−p) for each probability (nil without dropout), and
	// dropped the probabilities times kept, which weight the values.
	kept, dropped []T
}

func (f *attention[T]) Operands() []mat.Tensor { return []mat.Tensor{f.q, f.k, f.v} }

// block locates the work of one (sequence, head) pair.
type block struct {
	row, length int // first row of the sequence and its length
	col         int // first column of the head
	probs       int // offset of its probabilities
}

// blocks returns the (sequence, head) pairs, sequence-major, and the size of all probabilities.
func (f *attention[T]) blocks() ([]block, int) {
	_, d := Dims(f.q)
	dh := d / f.heads
	bs := make([]block, 0, len(f.lengths)*f.heads)
	row, off := 0, 0
	for _, l := range f.lengths {
		for h := 0; h < f.heads; h++ {
			bs = append(bs, block{row: row, length: l, col: h * dh, probs: off})
			off += l * l
		}
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
	f.probs = make([]T, size)
	if f.dropout > 0 {
		// Drawn here, in one goroutine, so that the masks depend on rng alone.
		f.kept, f.dropped = dropoutMask[T](size, f.dropout, f.rng), make([]T, size)
	}
	y := make([]T, n*d)
	scale := f.scale()
	Parallel(len(bs), 1, func(from, to int) {
		for _, b := range bs[from:to] {
			l, at := b.length, b.row*d+b.col
			p := f.probs[b.probs : b.probs+l*l]
			gemm.Gemm(false, true, l, l, dh, scale, q[at:], d, k[at:], d, 0, p, l)
			for i := 0; i < l; i++ {
				softmax(p[i*l : (i+1)*l])
			}
			gemm.Gemm(false, false, l, dh, l, 1, f.weights(b), l, v[at:], d, 0, y[at:], d)
		}
	})
	return NewDense(n, d, y), nil
}

// weights returns the probabilities of block b that weight the values: the probabilities
// themselves, or with dropout their kept and rescaled part (which it computes).
func (f *attention[T]) weights(b block) []T {
	p := f.probs[b.probs : b.probs+b.length*b.length]
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
// ∂K = scale·∂Sᵀ·Q.
func (f *attention[T]) Backward(gy mat.Tensor) error {
	needQ, needK, needV := f.q.RequiresGrad(), f.k.RequiresGrad(), f.v.RequiresGrad()
	n, d := Dims(f.q)
	dh := d / f.heads
	q, k, v, g := Values[T](f.q), Values[T](f.k), Values[T](f.v), Values[T](gy)
	var gq, gk, gv []T
	// Every (sequence, head) block writes its rows and columns of each: no clearing needed.
	if needQ {
		gq = gradBuffer[T](n*d, false)
	}
	if needK {
		gk = gradBuffer[T](n*d, false)
	}
	if needV {
		gv = gradBuffer[T](n*d, false)
	}
	bs, _ := f.blocks()
	scale := f.scale()
	maxLen := 0
	for _, l := range f.lengths {
		maxLen = max(maxLen, l)
	}
	Parallel(len(bs), 1, func(from, to int) {
		dp := make([]T, maxLen*maxLen)
		for _, b := range bs[from:to] {
			l, at := b.length, b.row*d+b.col
			p := f.probs[b.probs : b.probs+l*l]
			if needV {
				w := p
				if f.kept != nil {
					w = f.dropped[b.probs : b.probs+l*l]
				}
				gemm.Gemm(true, false, l, dh, l, 1, w, l, g[at:], d, 0, gv[at:], d)
			}
			if !needQ && !needK {
				continue
			}
			ds := dp[:l*l]
			gemm.Gemm(false, true, l, l, dh, 1, g[at:], d, v[at:], d, 0, ds, l)
			if f.kept != nil {
				for i, m := range f.kept[b.probs : b.probs+l*l] {
					ds[i] *= m
				}
			}
			for i := 0; i < l; i++ {
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
				gemm.Gemm(false, false, l, dh, l, scale, ds, l, k[at:], d, 0, gq[at:], d)
			}
			if needK {
				gemm.Gemm(true, false, l, dh, l, scale, ds, l, q[at:], d, 0, gk[at:], d)
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
