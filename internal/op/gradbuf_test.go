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

// TestAccGradCopies holds spago to what gradient buffer reuse relies on: AccGrad on a Dense, a
// Param and an operator copies its argument, both into a new gradient and onto an existing one.
func TestAccGradCopies(t *testing.T) {
	leaf := func() *mat.Dense[float32] {
		m := NewDense(2, 2, []float32{1, 2, 3, 4})
		m.SetRequiresGrad(true)
		return m
	}
	tensors := map[string]mat.Tensor{
		"Dense":    leaf(),
		"Param":    nn.NewParam(leaf()),
		"Operator": ag.Add(leaf(), leaf()),
	}
	for name, tensor := range tensors {
		t.Run(name, func(t *testing.T) {
			require.True(t, copiesGrad[float32](tensor))
			g := []float32{1, 1, 1, 1}
			tensor.AccGrad(NewDense(2, 2, g))
			clear(g)
			tensor.AccGrad(NewDense(2, 2, []float32{2, 2, 2, 2}))
			g2 := []float32{1, 1, 1, 1}
			tensor.AccGrad(NewDense(2, 2, g2))
			clear(g2)
			assert.Equal(t, []float32{4, 4, 4, 4}, tensor.Grad().Data().F32())
		})
	}
	assert.False(t, copiesGrad[float64](tensors["Dense"]), "a float32 Dense taken for float64")
}

func TestSizeClass(t *testing.T) {
	seen := map[int]int{}
	for n := 1; n < 5000; n++ {
		class, capacity := sizeClass(n)
		require.GreaterOrEqual(t, capacity, n)
		require.LessOrEqual(t, float64(capacity), 1.25*float64(n)+1, "n = %d", n)
		if c, ok := seen[class]; ok {
			require.Equal(t, c, capacity, "class %d holds two capacities", class)
		}
		seen[class] = capacity
	}
	class, _ := sizeClass(1 << 40)
	require.Less(t, class, len(gradPools[0]))
}

// TestGradBufferReuse runs the backward pass of a graph through every operator that takes its
// gradient buffers from the pools, three times with reuse (each run getting the buffers the one
// before dirtied), and checks each run's gradients against a run without reuse. Not bit for bit:
// spago's backward pass runs operators concurrently, so a tensor several operators read (e, bq,
// gain, bias) sums its gradients in whatever order they arrive, which moves the last bits from run
// to run with or without reuse. A dirtied buffer shows as an error the size of a gradient, far
// above the 1e-5 relative tolerance.
func TestGradBufferReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	const d, heads = 16, 2
	lengths := []int{5, 3}
	rows := []int{0, 3, 7, 1, 1, 9, 2, 4}
	table, e2 := randomDense32(rng, 10, d), randomDense32(rng, len(rows), d)
	wq, bq := randomDense32(rng, d, d), randomDense32(rng, d, 1)
	wk, wv := randomDense32(rng, d, d), randomDense32(rng, d, d)
	w1, b1 := randomDense32(rng, 3*d, d), randomDense32(rng, 3*d, 1)
	w2, b2 := randomDense32(rng, d, 3*d), randomDense32(rng, d, 1)
	gain, bias := randomDense32(rng, d, 1), randomDense32(rng, d, 1)
	wm := randomDense32(rng, d, 5)
	upstream := randomDense32(rng, len(rows), 5)
	inputs := []*mat.Dense[float32]{table, e2, wq, bq, wk, wv, w1, b1, w2, b2, gain, bias, wm}
	run := func(reuse bool) [][]float32 {
		defer SetGradBufferReuse(SetGradBufferReuse(reuse))
		for _, in := range inputs {
			in.ZeroGrad()
		}
		e := LayerNorm(Gather(table, rows), gain, bias, 1e-12)
		q, k, v := Linear(e, wq, bq), Linear(e, wk, bq), Linear(e, wv, bq)
		a := Attention(q, k, v, heads, lengths)
		h := GELU(Linear(LinearGELU(a, w1, b1), w2, b2))
		y := AddLayerNorm(Dropout(h, 0.2, rand.New(rand.NewPCG(1, 2))), e2, gain, bias, 1e-12, 0, nil)
		z := ReLU(MatMul(y, wm, false))
		z.AccGrad(upstream)
		require.NoError(t, ag.Backward(z))
		var grads [][]float32
		for _, in := range inputs {
			require.True(t, in.HasGrad())
			grads = append(grads, append([]float32(nil), in.Grad().Data().F32()...))
		}
		return grads
	}
	want := run(false)
	for i := range 3 {
		got := run(true)
		for j := range want {
			for k, w := range want[j] {
				tol := 1e-5 * (1 + math.Abs(float64(w)))
				if math.Abs(float64(got[j][k]-w)) > tol {
					t.Fatalf("run %d with reuse: input %d, element %d: got %g, want %g", i, j, k, got[j][k], w)
				}
			}
		}
	}
}
