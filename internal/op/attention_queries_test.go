package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

// naiveAttentionQueries computes AttentionQueries element by element: query row i of sequence s
// against the keyLengths[s] key and value rows of s.
func naiveAttentionQueries(q, k, v []float64, d, heads int, queryLengths, keyLengths []int) []float64 {
	dh := d / heads
	y := make([]float64, len(q))
	qrow, start := 0, 0
	for s, l := range keyLengths {
		for h := 0; h < heads; h++ {
			for i := qrow; i < qrow+queryLengths[s]; i++ {
				probs := naiveAttentionRow(q, k, d, dh, h, i, start, l)
				for j := range l {
					for c := h * dh; c < (h+1)*dh; c++ {
						y[i*d+c] += probs[j] * v[(start+j)*d+c]
					}
				}
			}
		}
		qrow += queryLengths[s]
		start += l
	}
	return y
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// attentionQueriesCases are query and key lengths with unequal counts, for the value and
// gradient tests.
var attentionQueriesCases = []struct {
	name                     string
	heads                    int
	queryLengths, keyLengths []int
}{
	{"one sequence, one query", 1, []int{1}, []int{5}},
	{"one query per sequence", 2, []int{1, 1, 1}, []int{3, 1, 6}},
	{"some queries", 3, []int{2, 1, 4}, []int{5, 1, 4}},
	{"more queries than keys", 2, []int{3, 2}, []int{1, 2}},
	{"a sequence without queries", 2, []int{2, 0, 1}, []int{3, 4, 2}},
	{"last sequences without queries", 2, []int{2, 0, 0}, []int{3, 4, 2}},
}

func TestAttentionQueriesValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for _, tt := range attentionQueriesCases {
		t.Run(tt.name, func(t *testing.T) {
			d := 4 * tt.heads
			nq, nk := sum(tt.queryLengths), sum(tt.keyLengths)
			q, k, v := gradcheck.Random(rng, nq, d), gradcheck.Random(rng, nk, d), gradcheck.Random(rng, nk, d)
			y := AttentionQueries(q, k, v, tt.heads, tt.queryLengths, tt.keyLengths).Value().Data().F64()
			want := naiveAttentionQueries(q.Data().F64(), k.Data().F64(), v.Data().F64(), d, tt.heads, tt.queryLengths, tt.keyLengths)
			assert.InDeltaSlice(t, want, y, 1e-12)
		})
	}
}

func TestAttentionQueriesGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	for i, tt := range attentionQueriesCases {
		t.Run(tt.name, func(t *testing.T) {
			d := 2 * tt.heads
			nq, nk := sum(tt.queryLengths), sum(tt.keyLengths)
			q, k, v := gradcheck.Random(rng, nq, d), gradcheck.Random(rng, nk, d), gradcheck.Random(rng, nk, d)
			f := func() mat.Tensor {
				return gradcheck.Projection(AttentionQueries(q, k, v, tt.heads, tt.queryLengths, tt.keyLengths), uint64(30+i))
			}
			gradcheck.Check(t, f, 1e-6, q, k, v)
		})
	}
}

func TestAttentionQueriesFrozenKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	q := gradcheck.Random(rng, 2, 4)
	k, v := gradcheck.Random(rng, 5, 4), gradcheck.Random(rng, 5, 4)
	k.SetRequiresGrad(false)
	f := func() mat.Tensor {
		return gradcheck.Projection(AttentionQueries(q, k, v, 2, []int{1, 1}, []int{2, 3}), 40)
	}
	gradcheck.Check(t, f, 1e-6, q, v)
	assert.False(t, k.HasGrad())
}

// TestAttentionQueriesEmptySequenceGradient checks that the key and value rows of a sequence
// without query rows get a zero gradient even from a reused (dirty) gradient buffer.
func TestAttentionQueriesEmptySequenceGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	lengths := []int{3, 4}
	for range 3 { // leaves buffers of k's size, full of gradients, in the pools
		q, k, v := gradcheck.Random(rng, 7, 4), gradcheck.Random(rng, 7, 4), gradcheck.Random(rng, 7, 4)
		assert.NoError(t, ag.Backward(gradcheck.Projection(Attention(q, k, v, 2, lengths), 41)))
	}
	q, k, v := gradcheck.Random(rng, 2, 4), gradcheck.Random(rng, 7, 4), gradcheck.Random(rng, 7, 4)
	assert.NoError(t, ag.Backward(gradcheck.Projection(AttentionQueries(q, k, v, 2, []int{2, 0}, lengths), 42)))
	for _, g := range []mat.Tensor{k.Grad(), v.Grad()} {
		rows := g.Value().Data().F64()
		assert.NotEqual(t, make([]float64, 12), rows[:12], "the first sequence's rows")
		assert.Equal(t, make([]float64, 16), rows[12:], "the second sequence's rows")
	}
}

func TestAttentionQueriesShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 25))
	q, k, v := gradcheck.Random(rng, 3, 4), gradcheck.Random(rng, 5, 4), gradcheck.Random(rng, 5, 4)
	tests := []struct {
		name                     string
		q, k, v                  mat.Tensor
		heads                    int
		queryLengths, keyLengths []int
	}{
		{"query rows", q, k, v, 2, []int{1, 1}, []int{2, 3}},
		{"key rows", q, k, v, 2, []int{2, 1}, []int{2, 2}},
		{"value rows", q, k, gradcheck.Random(rng, 4, 4), 2, []int{2, 1}, []int{2, 3}},
		{"columns", q, gradcheck.Random(rng, 5, 2), v, 2, []int{2, 1}, []int{2, 3}},
		{"heads", q, k, v, 3, []int{2, 1}, []int{2, 3}},
		{"sequences", q, k, v, 2, []int{3}, []int{2, 3}},
		{"negative queries", q, k, v, 2, []int{4, -1}, []int{2, 3}},
		{"empty sequence", q, k, v, 2, []int{2, 1, 0}, []int{2, 3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, func() { AttentionQueries(tt.q, tt.k, tt.v, tt.heads, tt.queryLengths, tt.keyLengths) })
		})
	}
	assert.NotPanics(t, func() { AttentionQueries(q, k, v, 2, []int{2, 1}, []int{2, 3}) })
}

// TestAttentionQueriesBitIdentical checks that AttentionQueries gives each query row the same
// bits as Attention over the whole sequences, in float32 (with the AVX-512 and the AVX2 gemm
// kernels, and on the short path, where blocks of up to 512 keys skip gemm) and float64: for
// the first row of each sequence alone, for the rows of each sequence split at any point into
// two calls, and for a shuffled subset of rows. Row counts that are not multiples of the
// kernels' tiles (6 or 8 rows; 4 on the short path, which scores 64 at a time) take their edge
// paths; a sequence longer than gemm's kc (256) sums the value product in two blocks.
func TestAttentionQueriesBitIdentical(t *testing.T) {
	tests := []struct {
		name    string
		heads   int
		dh      int
		lengths []int
	}{
		{"short sequences", 2, 8, []int{1, 5, 13, 16}},
		{"BERT's sizes", 4, 64, []int{32, 33, 64, 1, 5}},
		{"narrow heads", 3, 16, []int{13, 32, 33, 7}},
		{"beyond one k block", 2, 64, []int{300, 17}},
		{"short path's edges", 3, 32, []int{1, 17, 31, 32, 33, 100, 129, 300, 513}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/float64", func(t *testing.T) {
			checkQueriesBitIdentical[float64](t, tt.heads, tt.dh, tt.lengths)
		})
		for _, avx512 := range []bool{true, false} {
			name := tt.name + "/float32 AVX2"
			if avx512 {
				name = tt.name + "/float32 AVX-512"
			}
			t.Run(name, func(t *testing.T) {
				was := gemm.SetAVX512(avx512)
				defer gemm.SetAVX512(was)
				wasShort := SetShortAttention(false) // gemm's path for every block
				defer SetShortAttention(wasShort)
				checkQueriesBitIdentical[float32](t, tt.heads, tt.dh, tt.lengths)
			})
		}
		t.Run(tt.name+"/float32 short path", func(t *testing.T) {
			defer SetShortAttention(SetShortAttention(true))
			if !shortAttention {
				t.Skip("no AVX-512F")
			}
			checkQueriesBitIdentical[float32](t, tt.heads, tt.dh, tt.lengths)
		})
	}
}

func checkQueriesBitIdentical[T float.DType](t *testing.T, heads, dh int, lengths []int) {
	rng := rand.New(rand.NewPCG(uint64(heads*dh), uint64(len(lengths))))
	d, n := heads*dh, sum(lengths)
	random := func() []T {
		x := make([]T, n*d)
		for i := range x {
			x[i] = T(rng.Float64()*2 - 1)
		}
		return x
	}
	q, k, v := random(), random(), random()
	full := Values[T](Attention(NewDense(n, d, q), NewDense(n, d, k), NewDense(n, d, v), heads, lengths))
	starts := make([]int, len(lengths))
	for s := 1; s < len(lengths); s++ {
		starts[s] = starts[s-1] + lengths[s-1]
	}
	// check runs AttentionQueries on the rows rows[s] (indices within sequence s) and compares
	// each result row with the full attention's.
	check := func(what string, rows [][]int) {
		t.Helper()
		queryLengths, picked := make([]int, len(lengths)), []int(nil)
		for s, rs := range rows {
			queryLengths[s] = len(rs)
			for _, r := range rs {
				picked = append(picked, starts[s]+r)
			}
		}
		if len(picked) == 0 {
			return
		}
		qs := make([]T, 0, len(picked)*d)
		for _, r := range picked {
			qs = append(qs, q[r*d:(r+1)*d]...)
		}
		y := Values[T](AttentionQueries(NewDense(len(picked), d, qs), NewDense(n, d, k), NewDense(n, d, v), heads, queryLengths, lengths))
		for i, r := range picked {
			if !sameBits(y[i*d:(i+1)*d], full[r*d:(r+1)*d]) {
				t.Errorf("%s: query row %d (row %d of the batch) differs from Attention's", what, i, r)
				return
			}
		}
	}
	rowsOf := func(from func(l int) int, to func(l int) int) [][]int {
		rows := make([][]int, len(lengths))
		for s, l := range lengths {
			for r := from(l); r < to(l); r++ {
				rows[s] = append(rows[s], r)
			}
		}
		return rows
	}
	check("first rows", rowsOf(func(int) int { return 0 }, func(int) int { return 1 }))
	// Split points a of the longest sequence (all of them up to 70), the others split at a as
	// far as they reach.
	for _, a := range splitPoints(maxOf(lengths)) {
		first := func(l int) int { return min(a, l) }
		check("rows before the split", rowsOf(func(int) int { return 0 }, first))
		check("rows after the split", rowsOf(first, func(l int) int { return l }))
	}
	shuffled := make([][]int, len(lengths))
	for s, l := range lengths {
		perm := rng.Perm(l)
		shuffled[s] = perm[:rng.IntN(l+1)]
	}
	check("shuffled subset", shuffled)
}

// splitPoints returns 0 to min(l, 70) and the points of l's range around 128 and 256 and l−1.
func splitPoints(l int) []int {
	var as []int
	for a := 0; a <= min(l, 70); a++ {
		as = append(as, a)
	}
	for _, a := range []int{127, 128, 129, 255, 256, 257, l - 1, l} {
		if a > 70 && a <= l {
			as = append(as, a)
		}
	}
	return as
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// sameBits reports whether a and b hold the same floating-point bits.
func sameBits[T float.DType](a, b []T) bool {
	for i := range a {
		switch x := any(a[i]).(type) {
		case float32:
			if math.Float32bits(x) != math.Float32bits(any(b[i]).(float32)) {
				return false
			}
		case float64:
			if math.Float64bits(x) != math.Float64bits(any(b[i]).(float64)) {
				return false
			}
		}
	}
	return len(a) == len(b)
}
