package op

import "github.com/nlpodyssey/spago/mat/float"

// The short-sequence path of attention. For a (sequence, head) block of BERT's sizes (32
// tokens, heads of 32 or 64 columns) the two gemm products per block spend more time packing
// their operands and dispatching than multiplying, and softmax's scalar loops over rows of 32
// cost more than both (7 µs of a MiniLM block, 2.3 µs here). Here one goroutine transposes the
// block's keys into a small buffer, multiplies in registers straight from q and v, and runs the
// softmax rows in AVX-512; the backward pass likewise (its four products, softmax's backward
// rows). "Short" names the per-block overhead it removes: it wins on BERT's longest sequences
// too (see maxShortLength).
//
// Bits: every element of the scores, the probabilities and the output is computed by the same
// chain of operations whichever rows share its block, so a query row's output depends on its
// own query and its sequence's keys and values only (what AttentionQueries promises), and which
// path a block takes depends on its length and head width alone, never on its query rows.

// shortAttention selects the short-sequence path; SetShortAttention switches it.
var shortAttention = shortCapable

// SetShortAttention turns the short-sequence path of attention's float32 forward and backward
// passes (AVX-512 kernels without gemm's packing, for sequences of at most maxShortLength tokens
// and heads of a multiple of 32 columns, at most maxShortHead) on, where the CPU has AVX-512F, or off, and
// returns whether it was on: for benchmarks that compare both within one process. Results
// differ from gemm's path in the last bits. Call it only while no operator runs.
func SetShortAttention(on bool) (was bool) {
	was, shortAttention = shortAttention, on && shortCapable
	return was
}

const (
	// maxShortLength bounds the keys of a block on the short path: BERT's longest sequences.
	// The path still beat gemm's on blocks of 512 keys (two sequences, 12 heads: 0.36 of the
	// time with heads of 32 columns, 0.51 with 64; softmax's scalar loops weigh most), but
	// nothing longer was measured.
	maxShortLength = 512
	// shortRows is how many query rows the forward pass scores at a time, which bounds its
	// scratch to shortRows·length values; rows are independent, so this changes no bits.
	shortRows = 64
	// maxShortHead bounds the columns of a head on the short path.
	maxShortHead = 128
)

// shortBlock reports whether a float32 block of length keys and dh columns takes the short
// path: a function of both alone, so that a query row takes the same path however the rows of
// its sequence are split.
func shortBlock[T float.DType](length, dh int) bool {
	var zero T
	_, single := any(zero).(float32)
	return single && shortAttention && length <= maxShortLength && dh%32 == 0 && dh <= maxShortHead
}

// shortScratch holds one goroutine's buffers for the short path: the transposed keys and the
// scaled scores of a block.
type shortScratch struct {
	keys, scores []float32
}

// grow returns s's buffer resized to n values, reallocated only when it is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// shortScores sets p (m×l, stride l) to the softmax of the scaled scores of block b: the m query
// rows of q from qat against the l key rows of k from kat, dh columns, q and k of stride d.
func (sc *shortScratch) shortScores(p, q, k []float32, qat, kat, m, l, dh, d int, scale float32) {
	lp := (l + 31) &^ 31 // the product kernel's columns come in 32s
	sc.keys = grow(sc.keys, dh*lp)
	sc.scores = grow(sc.scores, min(m, shortRows)*lp)
	// Bounds checks for the assembly, which reads and writes these extents only.
	_, _, _ = q[qat+(m-1)*d+dh-1], k[kat+(l-1)*d+dh-1], p[m*l-1]
	transposeShortAVX512(l, dh, &k[kat], d, &sc.keys[0], lp)
	for i := 0; i < m; i += shortRows {
		rows := min(shortRows, m-i)
		mulShortAVX512(rows, lp, dh, &q[qat+i*d], d, 1, &sc.keys[0], lp, &sc.scores[0], lp, scale)
		softmaxRowsAVX512(rows, l, &sc.scores[0], lp, &p[i*l], l)
	}
}

// shortValues sets the m×dh block of y from yat (stride d) to w·V, w the m×l weights (stride l)
// and V the l×dh values of v from kat (stride d).
func shortValues(y, w, v []float32, yat, kat, m, l, dh, d int) {
	_, _, _ = y[yat+(m-1)*d+dh-1], v[kat+(l-1)*d+dh-1], w[m*l-1]
	mulShortAVX512(m, dh, l, &w[0], l, 1, &v[kat], d, &y[yat], d, 1)
}

// shortGrads computes the gradients of block on the short path, as Backward does with gemm:
// gv (unless nil) = Wᵀ·G, ∂S = P⊙(∂P − rowsum(∂P⊙P)) with ∂P = (G·Vᵀ)⊙kept, gq (unless nil) =
// scale·∂S·K and gk (unless nil) = scale·∂Sᵀ·Q. p and w are the block's m×l probabilities and
// the weights they gave the values (p itself without dropout), kept the dropout mask or nil;
// g, the upstream gradient, is laid out as q, and every gradient as its operand.
func (sc *shortScratch) shortGrads(gq, gk, gv, q, k, v, g, p, w, kept []float32, qat, kat, m, l, dh, d int, scale float32) {
	_, _, _, _ = q[qat+(m-1)*d+dh-1], g[qat+(m-1)*d+dh-1], k[kat+(l-1)*d+dh-1], v[kat+(l-1)*d+dh-1]
	_, _ = p[m*l-1], w[m*l-1]
	if gv != nil {
		_ = gv[kat+(l-1)*d+dh-1]
		mulShortAVX512(l, dh, m, &w[0], 1, l, &g[qat], d, &gv[kat], d, 1)
	}
	if gq == nil && gk == nil {
		return
	}
	lp := (l + 31) &^ 31
	sc.keys = grow(sc.keys, dh*lp) // here the values, transposed
	sc.scores = grow(sc.scores, m*lp)
	ds := sc.scores
	transposeShortAVX512(l, dh, &v[kat], d, &sc.keys[0], lp)
	mulShortAVX512(m, lp, dh, &g[qat], d, 1, &sc.keys[0], lp, &ds[0], lp, 1)
	var keptAt *float32
	if kept != nil {
		_ = kept[m*l-1]
		keptAt = &kept[0]
	}
	softmaxGradRowsAVX512(m, l, &p[0], l, &ds[0], lp, keptAt)
	// The columns of ds past l hold products with repeated rows of v: neither product reads them.
	if gq != nil {
		_ = gq[qat+(m-1)*d+dh-1]
		mulShortAVX512(m, dh, l, &ds[0], lp, 1, &k[kat], d, &gq[qat], d, scale)
	}
	if gk != nil {
		_ = gk[kat+(l-1)*d+dh-1]
		mulShortAVX512(l, dh, m, &ds[0], 1, lp, &q[qat], d, &gk[kat], d, scale)
	}
}

// f32s returns x as []float32 (nil stays nil); x must be float32.
func f32s[T float.DType](x []T) []float32 {
	return any(x).([]float32)
}
