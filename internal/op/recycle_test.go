package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frozen returns a copy of m that does not require gradients.
func frozen(m *mat.Dense[float32]) *mat.Dense[float32] {
	return NewDense(m.Shape()[0], m.Shape()[1], append([]float32(nil), m.Data().F32()...))
}

// poison puts NaN-filled buffers of n values in the pools, several of them, for the next
// operators to take as outputs: an operator that leaves any element unwritten then shows NaN.
func poison(n int) {
	for range 4 {
		b := make([]float32, n)
		for i := range b {
			b[i] = float32(math.NaN())
		}
		free(b)
	}
}

// TestOutputsOverwriteRecycled checks, for every operator that takes its output (or its dropout
// masks, or scratch) from recycled buffers, that it writes every element: with NaN-filled
// buffers waiting in the pools, its value is the same bits as with recycling off, with its
// operands requiring gradients and not (then masks and scratch go back to the pools at once).
func TestOutputsOverwriteRecycled(t *testing.T) {
	defer SetRecycling(SetRecycling(true))
	rng := rand.New(rand.NewPCG(15, 15))
	const n, d, heads = 7, 8, 2
	x, a := randomDense32(rng, n, d), randomDense32(rng, n, d)
	w, b := randomDense32(rng, 3*d, d), randomDense32(rng, 3*d, 1)
	gain, bias := randomDense32(rng, d, 1), randomDense32(rng, d, 1)
	q, k, v := randomDense32(rng, n, d), randomDense32(rng, n, d), randomDense32(rng, n, d)
	first := randomDense32(rng, 2, d)
	cases := []struct {
		name string
		f    func(grad bool) mat.Tensor
	}{
		{"Linear", func(g bool) mat.Tensor { return Linear(maybe(x, g), w, b) }},
		{"LinearGELU", func(g bool) mat.Tensor { return LinearGELU(maybe(x, g), w, b) }},
		{"AddLayerNorm", func(g bool) mat.Tensor { return AddLayerNorm(maybe(a, g), x, gain, bias, 1e-12, 0, nil) }},
		{"AddLayerNorm/dropout", func(g bool) mat.Tensor {
			return AddLayerNorm(maybe(a, g), maybe(x, g), maybe(gain, g), maybe(bias, g), 1e-12, 0.3, rand.New(rand.NewPCG(1, 2)))
		}},
		{"LayerNorm", func(g bool) mat.Tensor { return LayerNorm(maybe(x, g), gain, bias, 1e-12) }},
		{"Gather", func(g bool) mat.Tensor { return Gather(maybe(x, g), []int{3, 0, 6, 6}) }},
		{"MatMul", func(g bool) mat.Tensor { return MatMul(maybe(x, g), w, true) }},
		{"GELU", func(g bool) mat.Tensor { return GELU(maybe(x, g)) }},
		{"GELUTanh", func(g bool) mat.Tensor { return GELUTanh(maybe(x, g)) }},
		{"Tanh", func(g bool) mat.Tensor { return Tanh(maybe(x, g)) }},
		{"ReLU", func(g bool) mat.Tensor { return ReLU(maybe(x, g)) }},
		{"ConcatRows", func(g bool) mat.Tensor { return ConcatRows(maybe(x, g), first, a) }},
		{"Attention", func(g bool) mat.Tensor {
			return Attention(maybe(q, g), maybe(k, g), maybe(v, g), heads, []int{4, 3})
		}},
		{"AttentionDropout", func(g bool) mat.Tensor {
			return AttentionDropout(maybe(q, g), maybe(k, g), maybe(v, g), heads, []int{4, 3}, 0.3, rand.New(rand.NewPCG(3, 4)))
		}},
		{"AttentionQueries", func(g bool) mat.Tensor {
			// The middle sequence has no query rows: none of the output's rows are its.
			return AttentionQueries(maybe(first, g), maybe(k, g), maybe(v, g), heads, []int{1, 0, 1}, []int{3, 2, 2})
		}},
	}
	for _, c := range cases {
		for _, grad := range []bool{false, true} {
			SetRecycling(false)
			want := append([]float32(nil), c.f(grad).Value().Data().F32()...)
			SetRecycling(true)
			for range 3 { // the second and third runs may take the first's buffers, dirtied
				poison(len(want))
				y := c.f(grad)
				assert.Equal(t, bitsOf(want), bitsOf(y.Value().Data().F32()), "%s, gradients %v", c.name, grad)
				Recycle(y)
			}
		}
	}
}

// maybe returns m itself when grad is set, else a copy that does not require gradients.
func maybe(m *mat.Dense[float32], grad bool) *mat.Dense[float32] {
	if grad {
		return m
	}
	return frozen(m)
}

// passThrough is an operator whose value is its operand's own matrix.
type passThrough struct{ x mat.Tensor }

func (f passThrough) Forward() (mat.Tensor, error) { return f.x.Value(), nil }
func (f passThrough) Backward(mat.Tensor) error    { return nil }
func (f passThrough) Operands() []mat.Tensor       { return []mat.Tensor{f.x} }

// TestRecycleIgnores checks what Recycle leaves alone: parameters and other leaves, an operator
// whose value is its operand's (a weight's), a second listing of the same node, and everything
// with recycling off. It looks for the buffers in the pool of a size class no other test uses.
func TestRecycleIgnores(t *testing.T) {
	defer SetRecycling(SetRecycling(true))
	const n = 1000003 // a size class no other test uses
	fresh := func() *mat.Dense[float32] { return NewDense(1, n, make([]float32, n)) }
	// taken reports whether m's buffer is in the pool of its class, and empties that pool.
	taken := func(m mat.Tensor) bool {
		addr, found := &mat.Data[float32](m.Value())[0], false
		pool := poolOf[float32](freeClass(n))
		for {
			b, ok := pool.Get().(*[]float32)
			if !ok {
				return found
			}
			found = found || &(*b)[0] == addr
		}
	}
	leaf := fresh()
	param := nn.NewParam(fresh())
	Recycle(leaf, param)
	assert.False(t, taken(leaf), "a leaf recycled")
	assert.False(t, taken(param), "a parameter recycled")
	alias := ag.NewOperator(passThrough{param}).Run()
	Recycle(alias)
	assert.False(t, taken(param), "an operator's operand recycled")

	SetRecycling(false)
	y := ag.Add(fresh(), fresh())
	Recycle(y)
	assert.False(t, taken(y), "recycled with recycling off")
	SetRecycling(true)

	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under the race detector")
	}
	y = ag.Add(fresh(), fresh())
	Recycle(y, y)
	pool := poolOf[float32](freeClass(n))
	got, ok := pool.Get().(*[]float32)
	require.True(t, ok, "not recycled")
	assert.Same(t, &mat.Data[float32](y.Value())[0], &(*got)[0])
	_, ok = pool.Get().(*[]float32)
	assert.False(t, ok, "a node listed twice given back twice")
}
