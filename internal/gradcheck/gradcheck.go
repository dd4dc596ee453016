// Package gradcheck verifies backpropagated gradients against central finite differences. Tests of
// every operator and adapter use it, in float64.
package gradcheck

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// Step is the finite-difference step; with central differences in float64 the truncation and
// rounding errors balance near 1e-6 relative.
const Step = 1e-6

// Check backpropagates from the scalar returned by loss and compares the gradient of every element
// of every input with (loss(x+h) − loss(x−h))/2h. The comparison is relative:
// |analytic − numeric| ≤ tol·max(1, |analytic|, |numeric|).
func Check(t testing.TB, loss func() mat.Tensor, tol float64, inputs ...*mat.Dense[float64]) {
	t.Helper()
	for _, in := range inputs {
		in.ZeroGrad()
	}
	l := loss()
	if err := ag.Backward(l); err != nil {
		t.Fatalf("backward: %v", err)
	}
	analytic := make([][]float64, len(inputs))
	for i, in := range inputs {
		analytic[i] = make([]float64, in.Size())
		if in.HasGrad() {
			copy(analytic[i], in.Grad().Data().F64())
		}
		in.ZeroGrad()
	}
	failures := 0
	for i, in := range inputs {
		data := in.Data().F64() // Dense.Data shares the backing array.
		for j := range data {
			orig := data[j]
			data[j] = orig + Step
			plus := loss().Item().F64()
			data[j] = orig - Step
			minus := loss().Item().F64()
			data[j] = orig
			numeric := (plus - minus) / (2 * Step)
			a := analytic[i][j]
			if math.Abs(a-numeric) > tol*math.Max(1, math.Max(math.Abs(a), math.Abs(numeric))) {
				failures++
				if failures <= 10 {
					t.Errorf("input %d element %d: analytic %.10g, numeric %.10g", i, j, a, numeric)
				}
			}
		}
	}
	if failures > 10 {
		t.Errorf("%d gradient mismatches in all", failures)
	}
}

// Projection returns Σ y⊙R for a fixed random R drawn from seed: a scalar whose gradient with
// respect to y is R, so every output element takes part in the check with a distinct weight.
func Projection(y mat.Tensor, seed uint64) mat.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0))
	s := y.Value().Shape()
	r := mat.NewDense[float64](mat.WithShape(s...), mat.WithGrad(false))
	for i, d := 0, r.Data().F64(); i < len(d); i++ {
		d[i] = rng.Float64()*2 - 1
	}
	// Not ReduceSum(Prod(y, r)): spago's ReduceSum passes back a column vector whatever y's shape.
	return ag.Dot(y, r)
}

// Random returns a rows×cols float64 matrix of uniform values in [-1, 1) that requires gradients.
func Random(rng *rand.Rand, rows, cols int) *mat.Dense[float64] {
	m := mat.NewDense[float64](mat.WithShape(rows, cols), mat.WithGrad(true))
	for i, d := 0, m.Data().F64(); i < len(d); i++ {
		d[i] = rng.Float64()*2 - 1
	}
	return m
}
