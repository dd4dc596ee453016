package op

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortInputs returns random float32 q, k and v of Σ lengths rows and heads·dh columns, and the
// same in float64.
func shortInputs(rng *rand.Rand, heads, dh int, lengths []int) (x32 [3]*mat.Dense[float32], x64 [3][]float64) {
	n, d := sum(lengths), heads*dh
	for i := range x32 {
		data, wide := make([]float32, n*d), make([]float64, n*d)
		for j := range data {
			data[j] = float32(rng.NormFloat64())
			wide[j] = float64(data[j])
		}
		x32[i], x64[i] = NewDense(n, d, data), wide
	}
	return x32, x64
}

// TestShortAttentionValues checks the short path against the naive float64 attention and
// against gemm's path, around its edges: lengths that are not multiples of 16 or 32, one key,
// more query rows than it scores at once (shortRows), the longest it takes (512) and the first
// it leaves to gemm (513), head widths 32 to 128 and one it leaves to gemm (48); with dropout,
// which weights the values with the kept probabilities.
func TestShortAttentionValues(t *testing.T) {
	if !shortCapable {
		t.Skip("no AVX-512F")
	}
	defer SetShortAttention(SetShortAttention(true))
	tests := []struct {
		heads, dh int
		lengths   []int
		p         float64
	}{
		{12, 32, []int{32, 32, 32}, 0},
		{12, 64, []int{32, 31, 9}, 0},
		{2, 32, []int{1, 2, 15, 16, 17, 33, 63, 64, 65}, 0},
		{2, 96, []int{100, 3}, 0},
		{1, 128, []int{128, 129}, 0},
		{1, 32, []int{512, 513, 200}, 0},
		{3, 48, []int{20, 7}, 0},
		{4, 32, []int{30, 5}, 0.2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("heads=%d/dh=%d/lengths=%v/p=%g", tt.heads, tt.dh, tt.lengths, tt.p), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.dh), uint64(len(tt.lengths))))
			x, wide := shortInputs(rng, tt.heads, tt.dh, tt.lengths)
			run := func(short bool) []float32 {
				defer SetShortAttention(SetShortAttention(short))
				return Values[float32](AttentionDropout(x[0], x[1], x[2], tt.heads, tt.lengths, tt.p, rand.New(rand.NewPCG(5, 6))))
			}
			got, gemmPath := run(true), run(false)
			want := naiveAttentionDropout(wide[0], wide[1], wide[2], tt.heads*tt.dh, tt.heads, tt.lengths, tt.p, rand.New(rand.NewPCG(5, 6)))
			for i := range want {
				require.InDelta(t, want[i], float64(got[i]), 2e-5, "element %d", i)
				require.InDelta(t, float64(gemmPath[i]), float64(got[i]), 2e-5, "element %d", i)
			}
			assert.True(t, sameBits(got, run(true)), "a second run gives other bits")
		})
	}
}

// TestShortAttentionGradients checks the short path's backward pass against gemm's, to
// float32's precision: with and without dropout, with operands frozen, and for AttentionQueries'
// subsets of query rows (whose sequence without queries leaves its key and value rows alone).
func TestShortAttentionGradients(t *testing.T) {
	if !shortCapable {
		t.Skip("no AVX-512F")
	}
	tests := []struct {
		name             string
		heads, dh        int
		lengths          []int
		queries          []int // query rows per sequence (AttentionQueries), nil for all
		p                float64
		frozenQ, frozenK bool
	}{
		{name: "all", heads: 4, dh: 32, lengths: []int{32, 17, 1}},
		{name: "wide heads", heads: 2, dh: 64, lengths: []int{40, 100, 3}},
		{name: "dropout", heads: 3, dh: 32, lengths: []int{20, 33}, p: 0.3},
		{name: "frozen key", heads: 2, dh: 32, lengths: []int{9, 30}, frozenK: true},
		{name: "values only", heads: 2, dh: 32, lengths: []int{9, 30}, frozenQ: true, frozenK: true},
		{name: "query subsets", heads: 2, dh: 32, lengths: []int{9, 30, 5}, queries: []int{3, 0, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(tt.dh)))
			x, _ := shortInputs(rng, tt.heads, tt.dh, tt.lengths)
			queries := tt.lengths
			if tt.queries != nil {
				queries = tt.queries
				qs, _ := shortInputs(rng, tt.heads, tt.dh, queries)
				x[0] = qs[0]
			}
			upstream, _ := shortInputs(rng, tt.heads, tt.dh, queries)
			grads := func(short bool) [][]float32 {
				defer SetShortAttention(SetShortAttention(short))
				for i, m := range x {
					m.SetRequiresGrad(!(i == 0 && tt.frozenQ || i == 1 && tt.frozenK))
					m.ZeroGrad()
				}
				var y mat.Tensor
				if tt.queries != nil {
					y = AttentionQueries(x[0], x[1], x[2], tt.heads, queries, tt.lengths)
				} else {
					y = AttentionDropout(x[0], x[1], x[2], tt.heads, tt.lengths, tt.p, rand.New(rand.NewPCG(7, 8)))
				}
				y.AccGrad(upstream[0])
				require.NoError(t, ag.Backward(y))
				var gs [][]float32
				for _, m := range x {
					if m.HasGrad() {
						gs = append(gs, append([]float32(nil), m.Grad().Data().F32()...))
					} else {
						gs = append(gs, nil)
					}
				}
				return gs
			}
			want, got := grads(false), grads(true)
			for i := range want {
				require.Equal(t, want[i] == nil, got[i] == nil, "operand %d", i)
				for j := range want[i] {
					require.InDelta(t, float64(want[i][j]), float64(got[i][j]), 1e-4, "operand %d, element %d", i, j)
				}
			}
		})
	}
}

// TestShortSoftmaxExtremes checks the softmax rows where scores underflow: a row whose other
// scores lie more than 87 below its maximum gives them probability 0, as softmax does.
func TestShortSoftmaxExtremes(t *testing.T) {
	if !shortCapable {
		t.Skip("no AVX-512F")
	}
	for _, l := range []int{1, 5, 16, 21, 40} {
		s := make([]float32, 48)
		for j := range l {
			s[j] = -200 + float32(j%3)*100 // −200, −100, 0, …
		}
		p := make([]float32, l)
		softmaxRowsAVX512(1, l, &s[0], 48, &p[0], l)
		want := append([]float32(nil), s[:l]...)
		softmax(want)
		for j := range p {
			assert.InDelta(t, float64(want[j]), float64(p[j]), 1e-6, "l=%d, key %d", l, j)
			assert.False(t, math.IsNaN(float64(p[j])))
		}
	}
}

// TestShortTranspose checks the key transposition on lengths around its blocks of 16 keys,
// with a whole block past the last key (l ≤ 16 padded to 32), and that it reads no row past l:
// k's slice ends at row l's last column used.
func TestShortTranspose(t *testing.T) {
	if !shortCapable {
		t.Skip("no AVX-512F")
	}
	for _, tt := range []struct{ l, dh, ldk int }{
		{1, 16, 16}, {5, 32, 40}, {16, 32, 32}, {17, 64, 100}, {31, 32, 384}, {32, 48, 48}, {100, 128, 130}, {128, 32, 64},
	} {
		t.Run(fmt.Sprintf("l=%d/dh=%d/ldk=%d", tt.l, tt.dh, tt.ldk), func(t *testing.T) {
			k := make([]float32, (tt.l-1)*tt.ldk+tt.dh)
			for i := range k {
				k[i] = float32(i)
			}
			lp := (tt.l + 31) &^ 31
			kt := make([]float32, tt.dh*lp)
			transposeShortAVX512(tt.l, tt.dh, &k[0], tt.ldk, &kt[0], lp)
			for c := range tt.dh {
				for j := range tt.l {
					require.Equal(t, k[j*tt.ldk+c], kt[c*lp+j], "column %d, key %d", c, j)
				}
			}
		})
	}
}
