package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

// naiveAttention computes packed multi-head attention element by element.
func naiveAttention(q, k, v []float64, d, heads int, lengths []int) []float64 {
	return naiveAttentionDropout(q, k, v, d, heads, lengths, 0, nil)
}

func TestAttentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	lengths := []int{3, 1, 4}
	q, k, v := gradcheck.Random(rng, 8, 6), gradcheck.Random(rng, 8, 6), gradcheck.Random(rng, 8, 6)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(Attention(q, k, v, 2, lengths), 9) }, 1e-6, q, k, v)
}

func TestAttentionFrozenKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	q, v := gradcheck.Random(rng, 5, 4), gradcheck.Random(rng, 5, 4)
	k := gradcheck.Random(rng, 5, 4)
	k.SetRequiresGrad(false)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(Attention(q, k, v, 2, []int{2, 3}), 10) }, 1e-6, q, v)
	assert.False(t, k.HasGrad())
}

func TestAttentionFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	lengths := []int{17, 32, 5}
	const n, d, heads = 54, 24, 3
	q64, k64, v64 := gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d)
	f32 := func(m *mat.Dense[float64]) *mat.Dense[float32] {
		out := make([]float32, m.Size())
		for i, x := range m.Data().F64() {
			out[i] = float32(x)
		}
		return NewDense(n, d, out)
	}
	y := Attention(f32(q64), f32(k64), f32(v64), heads, lengths).Value().Data().F32()
	want := naiveAttention(q64.Data().F64(), k64.Data().F64(), v64.Data().F64(), d, heads, lengths)
	for i := range want {
		assert.InDelta(t, want[i], float64(y[i]), 1e-5)
	}
}

// naiveAttentionDropout is naiveAttention with each probability, in the order (sequence, head,
// query row, key column), zeroed with probability p drawn from rng or scaled by 1/(1−p).
func naiveAttentionDropout(q, k, v []float64, d, heads int, lengths []int, p float64, rng *rand.Rand) []float64 {
	dh := d / heads
	y := make([]float64, len(q))
	start := 0
	for _, l := range lengths {
		for h := 0; h < heads; h++ {
			for i := start; i < start+l; i++ {
				probs := naiveAttentionRow(q, k, d, dh, h, i, start, l)
				for j := range l {
					if p > 0 && rng.Float64() < p {
						continue
					}
					for c := h * dh; c < (h+1)*dh; c++ {
						y[i*d+c] += probs[j] / (1 - p) * v[(start+j)*d+c]
					}
				}
			}
		}
		start += l
	}
	return y
}

// naiveAttentionRow is the softmax of query row i of head h over the l keys from row start.
func naiveAttentionRow(q, k []float64, d, dh, h, i, start, l int) []float64 {
	scores := make([]float64, l)
	m := math.Inf(-1)
	for j := range l {
		for c := h * dh; c < (h+1)*dh; c++ {
			scores[j] += q[i*d+c] * k[(start+j)*d+c]
		}
		scores[j] /= math.Sqrt(float64(dh))
		m = math.Max(m, scores[j])
	}
	var sum float64
	for j := range scores {
		scores[j] = math.Exp(scores[j] - m)
		sum += scores[j]
	}
	for j := range scores {
		scores[j] /= sum
	}
	return scores
}

// TestAttentionValues checks Attention (p = 0) and AttentionDropout against the naive version.
func TestAttentionValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	tests := []struct {
		name    string
		heads   int
		lengths []int
		p       float64
	}{
		{"one head", 1, []int{4}, 0},
		{"three heads", 3, []int{5}, 0},
		{"packed", 2, []int{3, 1, 6}, 0},
		{"many blocks", 4, []int{9, 7, 8, 2, 5, 6, 3}, 0},
		{"dropout, one head", 1, []int{6}, 0.1},
		{"dropout, packed", 3, []int{4, 1, 7}, 0.3},
		{"dropout, most dropped", 2, []int{5, 5}, 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d := 0, 4*tt.heads
			for _, l := range tt.lengths {
				n += l
			}
			q, k, v := gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d)
			y := Attention(q, k, v, tt.heads, tt.lengths).Value().Data().F64()
			if tt.p > 0 {
				y = AttentionDropout(q, k, v, tt.heads, tt.lengths, tt.p, rand.New(rand.NewPCG(1, 2))).Value().Data().F64()
			}
			want := naiveAttentionDropout(q.Data().F64(), k.Data().F64(), v.Data().F64(), d, tt.heads, tt.lengths, tt.p, rand.New(rand.NewPCG(1, 2)))
			assert.InDeltaSlice(t, want, y, 1e-12)
		})
	}
}

func TestAttentionDropoutZeroIsAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	q, k, v := gradcheck.Random(rng, 7, 8), gradcheck.Random(rng, 7, 8), gradcheck.Random(rng, 7, 8)
	want := Attention(q, k, v, 2, []int{3, 4}).Value().Data().F64()
	got := AttentionDropout(q, k, v, 2, []int{3, 4}, 0, nil).Value().Data().F64()
	assert.Equal(t, want, got)
}

func TestAttentionDropoutGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	lengths := []int{3, 1, 4}
	q, k, v := gradcheck.Random(rng, 8, 6), gradcheck.Random(rng, 8, 6), gradcheck.Random(rng, 8, 6)
	// The same generator state on every evaluation, so that finite differences see one mask.
	f := func() mat.Tensor {
		return gradcheck.Projection(AttentionDropout(q, k, v, 2, lengths, 0.4, rand.New(rand.NewPCG(3, 4))), 14)
	}
	gradcheck.Check(t, f, 1e-6, q, k, v)
}
