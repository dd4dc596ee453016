package op

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLinearFrozenWeightPacked checks that Linear and LinearGELU with a frozen nn.Param weight,
// whose packing gemm keeps, give values and input gradients bit for bit equal to the same
// weight as a plain matrix, on the first pass and on later ones that reuse the packing; and
// that a weight written in place through Values (as Merge, Unmerge and the optimiser write),
// or with SetData after Forget (as loading does), is packed anew, not read from a stale packing.
func TestLinearFrozenWeightPacked(t *testing.T) {
	defer gemm.SetPackedLimit(gemm.SetPackedLimit(gemm.DefaultPackedLimit))
	rng := rand.New(rand.NewPCG(21, 21))
	const n, in, out = 32, 96, 200
	random := func(rows, cols int) []float32 {
		d := make([]float32, rows*cols)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return d
	}
	for _, tc := range []struct {
		name string
		op   func(x, w, b mat.Tensor) mat.Tensor
	}{{"Linear", Linear}, {"LinearGELU", LinearGELU}} {
		t.Run(tc.name, func(t *testing.T) {
			param := nn.NewParam(NewDense(out, in, random(out, in))).WithGrad(false)
			b := nn.NewParam(NewDense(out, 1, random(out, 1))).WithGrad(false)
			upstream := NewDense(n, out, random(n, out))
			pass := func(w mat.Tensor) (y, gx []float32) {
				x := NewDense(n, in, random(n, in))
				x.SetRequiresGrad(true)
				node := tc.op(x, w, b)
				node.AccGrad(upstream)
				require.NoError(t, ag.Backward(node))
				return node.Value().Data().F32(), x.Grad().Data().F32()
			}
			check := func(what string) {
				t.Helper()
				plain := NewDense(out, in, append([]float32(nil), mat.Data[float32](param.Value())...))
				seed := rng.Uint64()
				rng = rand.New(rand.NewPCG(seed, 1))
				y, gx := pass(param)
				rng = rand.New(rand.NewPCG(seed, 1))
				wantY, wantGx := pass(plain)
				assert.Equal(t, wantY, y, "%s: values", what)
				assert.Equal(t, wantGx, gx, "%s: input gradient", what)
			}
			before := gemm.Stats()
			check("first pass")
			check("second pass")
			if st := gemm.Stats(); st.Hits-before.Hits != 2 || st.Misses-before.Misses != 2 {
				t.Errorf("two passes: %d hits and %d misses, want 2 and 2 (forward and backward packings)", st.Hits-before.Hits, st.Misses-before.Misses)
			}
			w := Values[float32](param) // as Merge does
			w[len(w)/3] += 0.5
			check("after one element was changed through Values")
			for i := range w {
				w[i] *= -1
			}
			check("after every element was changed through Values")
			loaded := append([]float32(nil), mat.Data[float32](param.Value())...)
			loaded[7]++
			Forget(param) // as SetParams does before loading
			param.Value().(mat.Matrix).SetData(float.Make(loaded...))
			check("after one element was loaded with SetData, after Forget")
		})
	}
}

// TestLinearFrozenParamGradients is the finite-difference check of Linear and LinearGELU with
// frozen nn.Param weights, which take the packed path (float64 here).
func TestLinearFrozenParamGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	x := gradcheck.Random(rng, 6, 20)
	w := nn.NewParam(gradcheck.Random(rng, 17, 20)).WithGrad(false)
	b := nn.NewParam(gradcheck.Random(rng, 17, 1)).WithGrad(false)
	for _, f := range []func(x, w, b mat.Tensor) mat.Tensor{Linear, LinearGELU} {
		gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(f(x, w, b), 23) }, 1e-6, x)
	}
}
