package op

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveDisentangled computes DisentangledAttention element by element from its definition, with
// the probabilities dropped, in the order (sequence, head, query, key), as naiveAttentionDropout.
func naiveDisentangled(q, k, v, pq, pk []float64, d int, c Disentangled, rng *rand.Rand) []float64 {
	dh := d / c.Heads
	span := c.Span()
	scale := math.Sqrt(float64(dh * c.scaleFactor()))
	clamp := func(x int) int { return min(max(x, 0), 2*span-1) }
	dot := func(a []float64, ra int, b []float64, rb, h int) float64 {
		var s float64
		for x := h * dh; x < (h+1)*dh; x++ {
			s += a[ra*d+x] * b[rb*d+x]
		}
		return s
	}
	y := make([]float64, len(q))
	start := 0
	for _, l := range c.Lengths {
		for h := 0; h < c.Heads; h++ {
			for i := range l {
				scores := make([]float64, l)
				for j := range l {
					s := dot(q, start+i, k, start+j, h)
					if c.C2P {
						s += dot(q, start+i, pk, clamp(RelativeBucket(i-j, c.Buckets, c.MaxRelative)+span), h)
					}
					if c.P2C {
						// transformers: p2c_pos[j, i] = clamp(−bucket(j−i) + span), read transposed.
						s += dot(k, start+j, pq, clamp(-RelativeBucket(j-i, c.Buckets, c.MaxRelative)+span), h)
					}
					scores[j] = s / scale
				}
				m := math.Inf(-1)
				for _, s := range scores {
					m = math.Max(m, s)
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - m)
					sum += scores[j]
				}
				for j := range l {
					if c.Dropout > 0 && rng.Float64() < c.Dropout {
						continue
					}
					for x := h * dh; x < (h+1)*dh; x++ {
						y[(start+i)*d+x] += scores[j] / sum / (1 - c.Dropout) * v[(start+j)*d+x]
					}
				}
			}
		}
		start += l
	}
	return y
}

// disentangledInputs draws q, k, v (n×d) and the position projections (2·span×d) for c.
func disentangledInputs(rng *rand.Rand, c Disentangled, d int) (q, k, v, pq, pk *mat.Dense[float64]) {
	n := 0
	for _, l := range c.Lengths {
		n += l
	}
	return gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d), gradcheck.Random(rng, n, d),
		gradcheck.Random(rng, 2*c.Span(), d), gradcheck.Random(rng, 2*c.Span(), d)
}

var disentangledCases = []struct {
	name string
	c    Disentangled
}{
	{"v3 style, log buckets and clamping", Disentangled{Heads: 2, Lengths: []int{3, 1, 9}, C2P: true, P2C: true, Buckets: 4, MaxRelative: 7}},
	{"c2p only", Disentangled{Heads: 2, Lengths: []int{5, 2}, C2P: true, Buckets: 6, MaxRelative: 9}},
	{"p2c only", Disentangled{Heads: 1, Lengths: []int{6}, P2C: true, Buckets: 4, MaxRelative: 8}},
	{"no relative terms", Disentangled{Heads: 2, Lengths: []int{4, 3}, Buckets: 4, MaxRelative: 8}},
	{"no relative terms, scaled for three", Disentangled{Heads: 2, Lengths: []int{4, 3}, MaxRelative: 1, ScaleFactor: 3}},
	{"no buckets, clipped", Disentangled{Heads: 2, Lengths: []int{8, 2}, C2P: true, P2C: true, MaxRelative: 3}},
	{"span wider than the sequences", Disentangled{Heads: 3, Lengths: []int{2, 4}, C2P: true, P2C: true, Buckets: 32, MaxRelative: 64}},
	{"dropout", Disentangled{Heads: 2, Lengths: []int{4, 1, 6}, C2P: true, P2C: true, Buckets: 4, MaxRelative: 7, Dropout: 0.3}},
}

func TestDisentangledAttentionValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for _, tt := range disentangledCases {
		t.Run(tt.name, func(t *testing.T) {
			const d = 12
			c := tt.c
			q, k, v, pq, pk := disentangledInputs(rng, c, d)
			if c.Dropout > 0 {
				c.RNG = rand.New(rand.NewPCG(1, 2))
			}
			y := DisentangledAttention(q, k, v, pq, pk, c).Value().Data().F64()
			want := naiveDisentangled(q.Data().F64(), k.Data().F64(), v.Data().F64(), pq.Data().F64(), pk.Data().F64(), d, tt.c, rand.New(rand.NewPCG(1, 2)))
			assert.InDeltaSlice(t, want, y, 1e-12)
		})
	}
}

func TestDisentangledAttentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	for _, tt := range disentangledCases {
		t.Run(tt.name, func(t *testing.T) {
			const d = 6
			q, k, v, pq, pk := disentangledInputs(rng, tt.c, d)
			f := func() mat.Tensor {
				c := tt.c
				if c.Dropout > 0 { // the same mask on every evaluation
					c.RNG = rand.New(rand.NewPCG(3, 4))
				}
				return gradcheck.Projection(DisentangledAttention(q, k, v, pq, pk, c), 23)
			}
			inputs := []*mat.Dense[float64]{q, k, v}
			if tt.c.P2C {
				inputs = append(inputs, pq)
			}
			if tt.c.C2P {
				inputs = append(inputs, pk)
			}
			gradcheck.Check(t, f, 1e-6, inputs...)
		})
	}
}

// TestDisentangledAttentionFrozen checks the gradients that remain when some operands are frozen,
// as with adapters on query_proj and value_proj only (key and posKey frozen).
func TestDisentangledAttentionFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	c := disentangledCases[0].c
	q, k, v, pq, pk := disentangledInputs(rng, c, 6)
	k.SetRequiresGrad(false)
	pk.SetRequiresGrad(false)
	gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(DisentangledAttention(q, k, v, pq, pk, c), 25) }, 1e-6, q, v, pq)
	assert.False(t, k.HasGrad())
	assert.False(t, pk.HasGrad())
}

// TestDisentangledAttentionPackedIsOneByOne checks that a packed batch gives each sequence what it
// gives alone: no sequence sees another's tokens or its padding.
func TestDisentangledAttentionPackedIsOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 26))
	const d = 8
	c := Disentangled{Heads: 2, Lengths: []int{5, 1, 11, 3}, C2P: true, P2C: true, Buckets: 4, MaxRelative: 9}
	q, k, v, pq, pk := disentangledInputs(rng, c, d)
	packed := DisentangledAttention(q, k, v, pq, pk, c).Value().Data().F64()
	rows := func(m *mat.Dense[float64], from, l int) *mat.Dense[float64] {
		return NewDense(l, d, append([]float64(nil), m.Data().F64()[from*d:(from+l)*d]...))
	}
	start := 0
	for _, l := range c.Lengths {
		one := c
		one.Lengths = []int{l}
		y := DisentangledAttention(rows(q, start, l), rows(k, start, l), rows(v, start, l), pq, pk, one).Value().Data().F64()
		assert.InDeltaSlice(t, packed[start*d:(start+l)*d], y, 1e-14, "sequence of length %d", l)
		start += l
	}
}

func TestDisentangledAttentionFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 27))
	const d = 24
	c := Disentangled{Heads: 3, Lengths: []int{17, 40, 5}, C2P: true, P2C: true, Buckets: 16, MaxRelative: 64}
	q, k, v, pq, pk := disentangledInputs(rng, c, d)
	f32 := func(m *mat.Dense[float64]) *mat.Dense[float32] {
		out := make([]float32, m.Size())
		for i, x := range m.Data().F64() {
			out[i] = float32(x)
		}
		r, cols := Dims(m)
		return NewDense(r, cols, out)
	}
	y := DisentangledAttention(f32(q), f32(k), f32(v), f32(pq), f32(pk), c).Value().Data().F32()
	want := naiveDisentangled(q.Data().F64(), k.Data().F64(), v.Data().F64(), pq.Data().F64(), pk.Data().F64(), d, c, nil)
	for i := range want {
		assert.InDelta(t, want[i], float64(y[i]), 1e-5)
	}
}

// disentangledFixture reads testdata/disentangled.safetensors (see make_disentangled.py).
func disentangledFixture(t *testing.T) (map[string][]float32, map[string][]int, map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/disentangled.safetensors")
	require.NoError(t, err)
	defer f.Close()
	info, err := f.Stat()
	require.NoError(t, err)
	st, err := safetensors.Parse(f, info.Size())
	require.NoError(t, err)
	values, shapes := map[string][]float32{}, map[string][]int{}
	for _, e := range st.Entries {
		values[e.Name], err = st.Float32(e)
		require.NoError(t, err)
		shapes[e.Name] = e.Shape
	}
	return values, shapes, st.Metadata
}

// TestRelativeBucketTransformers compares RelativeBucket with transformers'
// make_log_bucket_position, DeBERTa-v3's 256 buckets over 512 positions among others.
func TestRelativeBucketTransformers(t *testing.T) {
	values, _, _ := disentangledFixture(t)
	for _, bm := range [][2]int{{256, 512}, {8, 64}, {32, 128}, {6, 20}} {
		want := values[fmt.Sprintf("buckets_%d_%d", bm[0], bm[1])]
		require.Len(t, want, 2*(bm[1]+8)+1)
		for i, w := range want {
			delta := i - (bm[1] + 8)
			assert.Equal(t, int(w), RelativeBucket(delta, bm[0], bm[1]), "delta %d, buckets %d, max %d", delta, bm[0], bm[1])
		}
	}
}

// TestDisentangledAttentionTransformers runs the operator on the projections of the fixture's
// padded batch and compares each sequence's real tokens with transformers'
// DisentangledSelfAttention on random weights, for each pos_att_type and sharing of keys.
func TestDisentangledAttentionTransformers(t *testing.T) {
	values, shapes, meta := disentangledFixture(t)
	t.Logf("fixture from %s", meta["versions"])
	lengths := []int{9, 4, 14}
	cases := []struct {
		name     string
		c        Disentangled
		sharedPK bool
	}{
		{"v3", Disentangled{C2P: true, P2C: true, Buckets: 8, MaxRelative: 12}, true},
		{"c2p_only", Disentangled{C2P: true, Buckets: 6, MaxRelative: 20}, true},
		{"p2c_unshared", Disentangled{P2C: true, Buckets: 8, MaxRelative: 12}, false},
		{"no_buckets", Disentangled{C2P: true, P2C: true, Buckets: -1, MaxRelative: 5}, false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			hs := shapes[tt.name+".hidden"] // batch × padded length × hidden
			padded, d := hs[1], hs[2]
			var x []float64
			for s, l := range lengths {
				for _, v := range values[tt.name+".hidden"][s*padded*d : (s*padded+l)*d] {
					x = append(x, float64(v))
				}
			}
			rel := values[tt.name+".rel_embeddings"]
			project := func(in []float32, rows int, module string) *mat.Dense[float64] {
				w, b := values[tt.name+"."+module+".weight"], values[tt.name+"."+module+".bias"]
				out := make([]float64, rows*d)
				for r := range rows {
					for o := range d {
						s := float64(b[o])
						for i := range d {
							s += float64(in[r*d+i]) * float64(w[o*d+i])
						}
						out[r*d+o] = s
					}
				}
				return NewDense(rows, d, out)
			}
			x32 := make([]float32, len(x))
			for i, v := range x {
				x32[i] = float32(v)
			}
			n := len(x) / d
			q, k, v := project(x32, n, "query_proj"), project(x32, n, "key_proj"), project(x32, n, "value_proj")
			pq, pk := project(rel, len(rel)/d, "query_proj"), project(rel, len(rel)/d, "key_proj")
			if !tt.sharedPK {
				if tt.c.C2P {
					pk = project(rel, len(rel)/d, "pos_key_proj")
				}
				if tt.c.P2C {
					pq = project(rel, len(rel)/d, "pos_query_proj")
				}
			}
			c := tt.c
			c.Heads, c.Lengths = 4, lengths
			y := DisentangledAttention(q, k, v, pq, pk, c).Value().Data().F64()
			want := values[tt.name+".context"]
			worst, row := 0.0, 0
			for s, l := range lengths {
				for i := range l {
					for o := range d {
						worst = math.Max(worst, math.Abs(float64(want[(s*padded+i)*d+o])-y[(row+i)*d+o]))
					}
				}
				row += l
			}
			t.Logf("max |Go − transformers| = %.2g", worst)
			assert.Less(t, worst, 1e-5)
		})
	}
}

// TestDisentangledAttentionPositionWindow checks that position projections holding only the rows
// PositionRows names give the output and gradients of the full ones, and that fewer rows are
// refused.
func TestDisentangledAttentionPositionWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 28))
	const d = 6
	for _, tt := range disentangledCases {
		if !tt.c.C2P && !tt.c.P2C {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Dropout = 0
			q, k, v, pq, pk := disentangledInputs(rng, c, d)
			from, rows := c.PositionRows()
			require.Less(t, rows, 2*c.Span()+1)
			window := func(m *mat.Dense[float64]) *mat.Dense[float64] {
				w := NewDense(rows, d, append([]float64(nil), m.Data().F64()[from*d:(from+rows)*d]...))
				w.SetRequiresGrad(true)
				return w
			}
			wq, wk := window(pq), window(pk)
			full := DisentangledAttention(q, k, v, pq, pk, c)
			cw := c
			cw.PosFrom = from
			part := DisentangledAttention(q, k, v, wq, wk, cw)
			assert.InDeltaSlice(t, full.Value().Data().F64(), part.Value().Data().F64(), 1e-14)
			for _, y := range []mat.Tensor{full, part} {
				require.NoError(t, ag.Backward(gradcheck.Projection(y, 29)))
			}
			for _, p := range []struct {
				on          bool
				full, inner *mat.Dense[float64]
			}{{c.P2C, pq, wq}, {c.C2P, pk, wk}} {
				if p.on {
					assert.InDeltaSlice(t, p.full.Grad().Data().F64()[from*d:(from+rows)*d], p.inner.Grad().Data().F64(), 1e-14)
				}
			}
			if rows > 1 {
				short := NewDense(rows-1, d, wq.Data().F64()[:(rows-1)*d])
				assert.Panics(t, func() { DisentangledAttention(q, k, v, short, short, cw) })
			}
		})
	}
}
