package op

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
)

// Disentangled configures DisentangledAttention: DeBERTa-v2's relative-position terms, with the
// names of its config.json.
type Disentangled struct {
	// Heads is the number of attention heads.
	Heads int
	// Lengths are the lengths of the packed sequences (see Attention).
	Lengths []int
	// C2P and P2C switch on the content→position and position→content terms (pos_att_type).
	C2P, P2C bool
	// Buckets is position_buckets: relative distances of Buckets/2 and more share logarithmic
	// buckets up to MaxRelative; 0 or less keeps every distance, clipped at ±MaxRelative.
	Buckets int
	// MaxRelative is max_relative_positions, resolved (transformers takes
	// max_position_embeddings when the config says −1): positive.
	MaxRelative int
	// ScaleFactor, if positive, replaces 1 + C2P + P2C in the scale 1/√(head size·factor):
	// transformers counts the terms pos_att_type names even when relative_attention is off and
	// none of them is computed.
	ScaleFactor int
	// PosFrom is the first of the 2·Span relative positions that the position projections hold:
	// they may hold only the rows the sequences read (PositionRows), which saves projecting the
	// others.
	PosFrom int
	// Dropout is the dropout probability of the attention probabilities, drawn from RNG when the
	// operator is built; 0 disables it and RNG may be nil.
	Dropout float64
	RNG     rand.Source
}

// Span is the attention span, transformers' pos_ebd_size: the relative-position embedding table
// has 2·Span rows.
func (c Disentangled) Span() int {
	if c.Buckets > 0 {
		return c.Buckets
	}
	return c.MaxRelative
}

// scaleFactor is ScaleFactor, or 1 plus one for each relative term: the scores are divided by
// √(head size·scaleFactor).
func (c Disentangled) scaleFactor() int {
	if c.ScaleFactor > 0 {
		return c.ScaleFactor
	}
	sf := 1
	if c.C2P {
		sf++
	}
	if c.P2C {
		sf++
	}
	return sf
}

// RelativeBucket returns the relative position of a query delta tokens after its key (query
// index − key index) as DeBERTa-v2 encodes it: delta itself while |delta| < buckets/2, then
// logarithmic buckets that reach ±buckets at distance maxRelative, computed in float32 as
// transformers' make_log_bucket_position does; with buckets ≤ 0, delta unchanged.
func RelativeBucket(delta, buckets, maxRelative int) int {
	if buckets <= 0 || maxRelative <= 0 {
		return delta
	}
	mid := buckets / 2
	abs := delta
	if abs < 0 {
		abs = -abs
	}
	if abs <= mid {
		return delta
	}
	// torch: ceil(log(abs/mid) / log((max−1)/mid) · (mid−1)) + mid, every step in float32.
	num := float32(math.Log(float64(float32(abs) / float32(mid))))
	den := float32(math.Log(float64(float32(float64(maxRelative-1) / float64(mid)))))
	b := int(math.Ceil(float64(num/den*float32(mid-1)))) + mid
	if delta < 0 {
		return -b
	}
	return b
}

// PositionRows returns the first and the number of the relative positions (rows of the 2·Span
// position embeddings) that sequences of c.Lengths read through the terms that are on: those of
// the longest, at most 2·its length − 1 of them.
func (c Disentangled) PositionRows() (from, rows int) {
	maxLen := 0
	for _, l := range c.Lengths {
		maxLen = max(maxLen, l)
	}
	if maxLen == 0 || !(c.C2P || c.P2C) {
		return 0, 0
	}
	c2p, p2c := c.relativeIndex(maxLen)
	var used []int
	if c.C2P {
		used = append(used, c2p...)
	}
	if c.P2C {
		used = append(used, p2c...)
	}
	from, to := slices.Min(used), slices.Max(used)
	return from, to - from + 1
}

// relativeIndex tables the rows of the position embeddings that the content→position and
// position→content terms read for each delta = query − key in (−maxLen, maxLen): c2p at
// [delta+maxLen−1] is clamp(bucket(delta)+span, 0, 2·span−1), as transformers' c2p_pos; p2c is
// clamp(−bucket(−delta)+span, …), its p2c_pos read transposed.
func (c Disentangled) relativeIndex(maxLen int) (c2p, p2c []int) {
	span := c.Span()
	clamp := func(x int) int { return min(max(x, 0), 2*span-1) }
	c2p, p2c = make([]int, 2*maxLen-1), make([]int, 2*maxLen-1)
	for delta := -(maxLen - 1); delta < maxLen; delta++ {
		c2p[delta+maxLen-1] = clamp(RelativeBucket(delta, c.Buckets, c.MaxRelative) + span)
		p2c[delta+maxLen-1] = clamp(-RelativeBucket(-delta, c.Buckets, c.MaxRelative) + span)
	}
	return c2p, p2c
}

// DisentangledAttention is DeBERTa-v2's disentangled self-attention over packed sequences (see
// Attention for the layout). q, k and v (n×d) are the content projections; posQuery and posKey
// are the query and key projections of the relative-position embeddings from row c.PosFrom on
// (rows×d, covering PositionRows), posKey used by the content→position term (nil without C2P),
// posQuery by position→content (nil without P2C). For tokens i, j of one sequence and each head, with s = √(d/heads·(1+C2P+P2C)):
//
//	score(i, j) = (q_i·k_j + q_i·posKey[c2p(i−j)] + k_j·posQuery[p2c(i−j)]) / s
//
// (see relativeIndex), then softmax over j, dropout, and the weighted sum of v. A sequence's
// padding never enters, as with transformers' attention mask on a right-padded batch.
func DisentangledAttention(q, k, v, posQuery, posKey mat.Tensor, c Disentangled) mat.Tensor {
	MustShape(c.Heads > 0, "DisentangledAttention: %d heads", c.Heads)
	MustShape(c.MaxRelative > 0, "DisentangledAttention: max relative positions %d", c.MaxRelative)
	MustShape(c.Dropout >= 0 && c.Dropout < 1, "DisentangledAttention: probability %g outside [0, 1)", c.Dropout)
	MustShape(c.Dropout == 0 || c.RNG != nil, "DisentangledAttention: probability %g without a generator", c.Dropout)
	n, d := Dims(q)
	kn, kd := Dims(k)
	vn, vd := Dims(v)
	MustShape(kn == n && vn == n && kd == d && vd == d, "DisentangledAttention: q is %d×%d, k %d×%d, v %d×%d", n, d, kn, kd, vn, vd)
	MustShape(d%c.Heads == 0, "DisentangledAttention: %d columns do not split into %d heads", d, c.Heads)
	for _, pos := range []struct {
		on bool
		t  mat.Tensor
	}{{c.C2P, posKey}, {c.P2C, posQuery}} {
		if !pos.on {
			continue
		}
		MustShape(pos.t != nil, "DisentangledAttention: a relative term without its position projection")
		pn, pd := Dims(pos.t)
		from, rows := c.PositionRows()
		MustShape(pd == d && c.PosFrom >= 0 && c.PosFrom <= from && from+rows <= c.PosFrom+pn && c.PosFrom+pn <= 2*c.Span(),
			"DisentangledAttention: a position projection of %d×%d from row %d, want %d columns and rows %d to %d of %d",
			pn, pd, c.PosFrom, d, from, from+rows-1, 2*c.Span())
	}
	total := 0
	for _, l := range c.Lengths {
		MustShape(l > 0, "DisentangledAttention: sequence length %d", l)
		total += l
	}
	MustShape(total == n, "DisentangledAttention: sequence lengths add up to %d, q has %d rows", total, n)
	if !c.C2P {
		posKey = nil
	}
	if !c.P2C {
		posQuery = nil
	}
	return Build(q,
		func() ag.AutoGradFunction {
			return &disentangled[float32]{attention: attention[float32]{q: q, k: k, v: v, heads: c.Heads, queryLengths: c.Lengths, lengths: c.Lengths, dropout: c.Dropout, rng: c.RNG}, pq: posQuery, pk: posKey, c: c}
		},
		func() ag.AutoGradFunction {
			return &disentangled[float64]{attention: attention[float64]{q: q, k: k, v: v, heads: c.Heads, queryLengths: c.Lengths, lengths: c.Lengths, dropout: c.Dropout, rng: c.RNG}, pq: posQuery, pk: posKey, c: c}
		})
}

type disentangled[T float.DType] struct {
	attention[T]            // q, k, v, the sequences, the probabilities and the dropout mask
	pq, pk       mat.Tensor // nil when the term is off
	c            Disentangled
	maxLen       int
	c2p          []int // row of posKey per delta + maxLen − 1
	p2c          []int // row of posQuery per delta + maxLen − 1
}

func (f *disentangled[T]) Operands() []mat.Tensor {
	ops := []mat.Tensor{f.q, f.k, f.v}
	if f.pq != nil {
		ops = append(ops, f.pq)
	}
	if f.pk != nil {
		ops = append(ops, f.pk)
	}
	return ops
}

func (f *disentangled[T]) scale() T {
	_, d := Dims(f.q)
	return T(1 / math.Sqrt(float64(d/f.c.Heads*f.c.scaleFactor())))
}

// window returns the first row and the number of rows of a position table that a sequence of
// length l reads through index (c2p or p2c).
func (f *disentangled[T]) window(index []int, l int) (lo, rows int) {
	lo, hi := math.MaxInt, 0
	for delta := -(l - 1); delta < l; delta++ {
		r := index[delta+f.maxLen-1]
		lo, hi = min(lo, r), max(hi, r)
	}
	return lo, hi - lo + 1
}

func (f *disentangled[T]) Forward() (mat.Tensor, error) {
	n, d := Dims(f.q)
	dh := d / f.c.Heads
	for _, l := range f.c.Lengths {
		f.maxLen = max(f.maxLen, l)
	}
	f.c2p, f.p2c = f.c.relativeIndex(f.maxLen)
	q, k, v := Values[T](f.q), Values[T](f.k), Values[T](f.v)
	var pq, pk []T
	if f.pq != nil {
		pq = Values[T](f.pq)
	}
	if f.pk != nil {
		pk = Values[T](f.pk)
	}
	bs, size := f.blocks()
	f.probs = make([]T, size)
	if f.c.Dropout > 0 {
		f.kept, f.dropped = dropoutMask[T](size, f.c.Dropout, f.c.RNG), make([]T, size)
	}
	y := make([]T, n*d)
	scale := f.scale()
	Parallel(len(bs), 1, func(from, to int) {
		rel := make([]T, f.maxLen*(2*f.maxLen-1))
		for _, b := range bs[from:to] {
			l, at := b.length, b.row*d+b.col
			p := f.probs[b.probs : b.probs+l*l]
			gemm.Gemm(false, true, l, l, dh, scale, q[at:], d, k[at:], d, 0, p, l)
			if pk != nil { // content→position: the query's content against the key's position
				f.addTerm(p, rel, q, pk, f.c2p, false, b, scale)
			}
			if pq != nil { // position→content: the key's content against the query's position
				f.addTerm(p, rel, k, pq, f.p2c, true, b, scale)
			}
			for i := 0; i < l; i++ {
				softmax(p[i*l : (i+1)*l])
			}
			gemm.Gemm(false, false, l, dh, l, 1, f.weights(b, p), l, v[at:], d, 0, y[at:], d)
		}
	})
	return NewDense(n, d, y), nil
}

// Backward, per sequence and head: ∂V and the score gradient ∂S as in attention's Backward; then
// with s the scale, ∂Q = s·∂S·K, ∂K = s·∂Sᵀ·Q, and for the relative terms, with ∂A[i, r] the sum
// of ∂S[i, j] over the keys j whose c2p row is r and ∂B[j, r] the sum over the queries i whose
// p2c row is r: ∂Q += s·∂A·posKey, ∂posKey += s·∂Aᵀ·Q, ∂K += s·∂B·posQuery, ∂posQuery += s·∂Bᵀ·K.
// Each goroutine sums its position gradients apart; they are added at the end.
func (f *disentangled[T]) Backward(gy mat.Tensor) error {
	needQ, needK, needV := f.q.RequiresGrad(), f.k.RequiresGrad(), f.v.RequiresGrad()
	needPQ := f.pq != nil && f.pq.RequiresGrad()
	needPK := f.pk != nil && f.pk.RequiresGrad()
	needScores := needQ || needK || needPQ || needPK
	n, d := Dims(f.q)
	dh := d / f.c.Heads
	q, k, v, g := Values[T](f.q), Values[T](f.k), Values[T](f.v), Values[T](gy)
	var pq, pk []T
	if f.pq != nil {
		pq = Values[T](f.pq)
	}
	if f.pk != nil {
		pk = Values[T](f.pk)
	}
	// ∂Q and ∂K are needed as accumulators when a relative term adds to them.
	gq, gk, gv := make([]T, n*d), make([]T, n*d), []T(nil)
	if needV {
		gv = make([]T, n*d)
	}
	// The position rows any sequence reads are those the longest one reads: each goroutine sums
	// the gradients of that window only.
	pkFrom, pkRows := f.window(f.c2p, f.maxLen)
	pqFrom, pqRows := f.window(f.p2c, f.maxLen)
	var mu sync.Mutex
	var gpq, gpk []T
	bs, _ := f.blocks()
	scale := f.scale()
	Parallel(len(bs), 1, func(from, to int) {
		ds := make([]T, f.maxLen*f.maxLen)
		rel := make([]T, f.maxLen*(2*f.maxLen-1))
		var mpq, mpk []T // this goroutine's position gradients
		if needPQ {
			mpq = make([]T, pqRows*d)
		}
		if needPK {
			mpk = make([]T, pkRows*d)
		}
		for _, b := range bs[from:to] {
			l, at := b.length, b.row*d+b.col
			p := f.probs[b.probs : b.probs+l*l]
			if needV {
				gemm.Gemm(true, false, l, dh, l, 1, f.weightsDone(b), l, g[at:], d, 0, gv[at:], d)
			}
			if !needScores {
				continue
			}
			s := ds[:l*l]
			gemm.Gemm(false, true, l, l, dh, 1, g[at:], d, v[at:], d, 0, s, l)
			if f.kept != nil {
				for i, m := range f.kept[b.probs : b.probs+l*l] {
					s[i] *= m
				}
			}
			softmaxGrad(p, s, l)
			gemm.Gemm(false, false, l, dh, l, scale, s, l, k[at:], d, 0, gq[at:], d)
			gemm.Gemm(true, false, l, dh, l, scale, s, l, q[at:], d, 0, gk[at:], d)
			if pk != nil {
				f.termGrad(s, rel, q, pk, f.c2p, false, b, scale, gq, mpk, pkFrom)
			}
			if pq != nil {
				f.termGrad(s, rel, k, pq, f.p2c, true, b, scale, gk, mpq, pqFrom)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		gpq, gpk = addInto(gpq, mpq), addInto(gpk, mpk)
	})
	if gpq != nil {
		rows, _ := Dims(f.pq)
		gpq = intoRows(gpq, pqFrom-f.c.PosFrom, rows, d)
	}
	if gpk != nil {
		rows, _ := Dims(f.pk)
		gpk = intoRows(gpk, pkFrom-f.c.PosFrom, rows, d)
	}
	for _, acc := range []struct {
		need    bool
		operand mat.Tensor
		grad    []T
	}{{needQ, f.q, gq}, {needK, f.k, gk}, {needV, f.v, gv}, {needPQ, f.pq, gpq}, {needPK, f.pk, gpk}} {
		if acc.need {
			acc.operand.AccGrad(NewDense(len(acc.grad)/d, d, acc.grad))
		}
	}
	return nil
}

// addTerm adds to the scores p of block b one relative term: for queries i and keys j, the head's
// content row x[c] (c = i, or j when byKey) times the position row pos[index(i−j)], times scale.
// It computes the products of the rows of x with the window of pos the sequence reads (into
// scratch), then gathers them.
func (f *disentangled[T]) addTerm(p, scratch, x, pos []T, index []int, byKey bool, b block, scale T) {
	_, d := Dims(f.q)
	l, at := b.length, b.row*d+b.col
	lo, w := f.window(index, l)
	a := scratch[:l*w]
	gemm.Gemm(false, true, l, w, d/f.c.Heads, scale, x[at:], d, pos[(lo-f.c.PosFrom)*d+b.col:], d, 0, a, w)
	for i := 0; i < l; i++ {
		for j := 0; j < l; j++ {
			p[i*l+j] += a[f.termCell(i, j, l, w, lo, index, byKey)]
		}
	}
}

// termCell is the element of addTerm's products that score (i, j) reads.
func (f *disentangled[T]) termCell(i, j, l, w, lo int, index []int, byKey bool) int {
	c := i
	if byKey {
		c = j
	}
	return c*w + index[i-j+f.maxLen-1] - lo
}

// termGrad backpropagates the score gradient s of block b through addTerm: it sums s into the
// products' cells (scratch), then adds scale·products·pos to gx and, if gpos is not nil,
// scale·productsᵀ·x to gpos, which holds the position rows from row from on.
func (f *disentangled[T]) termGrad(s, scratch, x, pos []T, index []int, byKey bool, b block, scale T, gx, gpos []T, from int) {
	_, d := Dims(f.q)
	dh := d / f.c.Heads
	l, at := b.length, b.row*d+b.col
	lo, w := f.window(index, l)
	a := scratch[:l*w]
	clear(a)
	for i := 0; i < l; i++ {
		for j := 0; j < l; j++ {
			a[f.termCell(i, j, l, w, lo, index, byKey)] += s[i*l+j]
		}
	}
	gemm.Gemm(false, false, l, dh, w, scale, a, w, pos[(lo-f.c.PosFrom)*d+b.col:], d, 1, gx[at:], d)
	if gpos != nil {
		gemm.Gemm(true, false, w, dh, l, scale, a, w, x[at:], d, 1, gpos[(lo-from)*d+b.col:], d)
	}
}

// softmaxGrad replaces the gradient ds of the l×l probabilities p by that of the scores:
// p⊙(ds − rowsum(ds⊙p)).
func softmaxGrad[T float.DType](p, ds []T, l int) {
	for i := 0; i < l; i++ {
		pr, dr := p[i*l:(i+1)*l], ds[i*l:(i+1)*l]
		var sum T
		for j, pv := range pr {
			sum += pv * dr[j]
		}
		for j, pv := range pr {
			dr[j] = pv * (dr[j] - sum)
		}
	}
}

// weightsDone returns the probabilities of block b that weighted the values in Forward.
func (f *disentangled[T]) weightsDone(b block) []T {
	if f.kept == nil {
		return f.probs[b.probs : b.probs+b.length*b.length]
	}
	return f.dropped[b.probs : b.probs+b.length*b.length]
}

// intoRows returns the rows×d matrix whose rows from on are window.
func intoRows[T float.DType](window []T, from, rows, d int) []T {
	full := make([]T, rows*d)
	copy(full[from*d:], window)
	return full
}

// addInto returns sum + x elementwise, reusing sum (x itself when sum is nil).
func addInto[T float.DType](sum, x []T) []T {
	if sum == nil {
		return x
	}
	for i, v := range x {
		sum[i] += v
	}
	return sum
}
