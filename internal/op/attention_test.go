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
	dh := d / heads
	y := make([]float64, len(q))
	start := 0
	for _, l := range lengths {
		for h := 0; h < heads; h++ {
			for i := start; i < start+l; i++ {
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
				for j := range l {
					for c := h * dh; c < (h+1)*dh; c++ {
						y[i*d+c] += scores[j] / sum * v[(start+j)*d+c]
					}
				}
			}
		}
		start += l
	}
	return y
}

func TestAttentionValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name    string
		heads   int
		lengths []int
	}{
		{"one head", 1, []int{4}},
		{"three heads", 3, []int{5}},
		{"packed", 2, []int{3, 1, 6}},
		{"many blocks", 4, []int{9, 7, 8, 2, 5, 6, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d := 0, 4*tt.heads
			for _, l := range tt.lengths {
				n += l
			}
			q, k, v := gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d)
			y := Attention(q, k, v, tt.heads, tt.lengths).Value().Data().F64()
			want := naiveAttention(q.Data().F64(), k.Data().F64(), v.Data().F64(), d, tt.heads, tt.lengths)
			assert.InDeltaSlice(t, want, y, 1e-12)
		})
	}
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
