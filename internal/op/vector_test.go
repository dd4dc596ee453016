package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ulpsOff returns how many float32 ulps of want got is away from want, an error below floor
// counting as none.
func ulpsOff(got float32, want, floor float64) float64 {
	diff := math.Abs(float64(got) - want)
	if diff <= floor {
		return 0
	}
	ulp := math.Max(math.Abs(want), 1e-37) * 0x1p-23
	return diff / ulp
}

// TestGELUKernelAccuracy compares float32 GELU and its derivative, as the operators compute them,
// with float64 math.Erfc and math.Exp over [−20, 20] and at special values.
func TestGELUKernelAccuracy(t *testing.T) {
	var x []float32
	for v := -20.0; v <= 20; v += 1.0 / 1024 {
		x = append(x, float32(v), float32(v+1e-4))
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, math.MaxFloat32, -math.MaxFloat32)
	y, d := make([]float32, len(x)), make([]float32, len(x))
	geluInto(y, d, x)
	var worstY, worstD float64
	var atY, atD float32
	for i, v := range x {
		u := float64(v)
		cdf, pdf := exactNormal(u)
		if e := ulpsOff(y[i], u*cdf, 1e-37); e > worstY {
			worstY, atY = e, v
		}
		// d = Φ + xφ is a difference for x < 0: its error is measured against the larger term (2 ulps of it count as none).
		if e := ulpsOff(d[i], cdf+u*pdf, math.Max(1e-36, math.Max(cdf, math.Abs(u*pdf))*0x1p-21)); e > worstD {
			worstD, atD = e, v
		}
	}
	t.Logf("worst GELU error %.2f ulp at %g, derivative %.2f ulp at %g", worstY, atY, worstD, atD)
	if worstY > 4 || worstD > 4 {
		t.Errorf("worst GELU error %.2f ulp at %g, derivative %.2f ulp at %g; want at most 4", worstY, atY, worstD, atD)
	}
	nan := []float32{float32(math.NaN())}
	geluInto(nan, nan, nan)
	if !math.IsNaN(float64(nan[0])) {
		t.Errorf("GELU(NaN) = %g", nan[0])
	}
}

// TestSoftmaxFloat32Accuracy compares float32 softmax with float64's over rows of every length
// from 1 to 40 (full blocks of eight and the padded rest), with one very negative entry. Most of
// the error is the float32 sum and the product by its inverse: with float64 exponentials
// rounded to float32 (the operator before the assembly kernel) the worst on these rows is 10.6
// ulps, with the kernel 9.9.
func TestSoftmaxFloat32Accuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var worst float64
	for l := 1; l <= 40; l++ {
		for range 20 {
			x32, x64 := make([]float32, l), make([]float64, l)
			for i := range x32 {
				x32[i] = float32(rng.NormFloat64() * 4)
			}
			x32[rng.IntN(l)] -= 200 // exp underflows to 0
			for i, v := range x32 {
				x64[i] = float64(v)
			}
			softmax(x32)
			softmax(x64)
			for i, v := range x32 {
				worst = math.Max(worst, ulpsOff(v, x64[i], 1e-37))
			}
		}
	}
	t.Logf("worst softmax error %.2f ulp", worst)
	if worst > 12 {
		t.Errorf("worst softmax error %.2f ulp, want at most 12", worst)
	}
	nan := []float32{1, float32(math.NaN()), 2}
	softmax(nan)
	for _, v := range nan {
		if !math.IsNaN(float64(v)) {
			t.Errorf("softmax of a row with NaN = %v, want NaN throughout", nan)
			break
		}
	}
}

// TestLayerNormRowKernels compares float32 LayerNorm and AddLayerNorm, values and all gradients,
// with the row kernels on and off (Go loops), on rows of 384 values: they differ only in the
// order of the sums.
func TestLayerNormRowKernels(t *testing.T) {
	if !vectorCapable {
		t.Skip("no AVX2/FMA: the row kernels do not run")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	const n, d = 9, 384
	a, x, gain, bias := randomDense32(rng, n, d), randomDense32(rng, n, d), randomDense32(rng, d, 1), randomDense32(rng, d, 1)
	upstream := randomDense32(rng, n, d)
	inputs := []*mat.Dense[float32]{a, x, gain, bias}
	for _, tt := range []struct {
		name string
		f    func() mat.Tensor
	}{
		{"LayerNorm", func() mat.Tensor { return LayerNorm(x, gain, bias, 1e-12) }},
		{"AddLayerNorm", func() mat.Tensor { return AddLayerNorm(a, x, gain, bias, 1e-12, 0, nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := func(vector bool) [][]float32 {
				defer SetVectorKernels(SetVectorKernels(vector))
				for _, in := range inputs {
					in.ZeroGrad()
				}
				node := tt.f()
				node.AccGrad(upstream)
				require.NoError(t, ag.Backward(node))
				out := [][]float32{node.Value().Data().F32()}
				for _, in := range inputs {
					if in.HasGrad() {
						out = append(out, append([]float32(nil), in.Grad().Data().F32()...))
					}
				}
				return out
			}
			got, want := run(true), run(false)
			require.Equal(t, len(want), len(got))
			for k := range want {
				for i, w := range want[k] {
					if math.Abs(float64(got[k][i]-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
						t.Fatalf("output %d, element %d: %g with the kernels, %g without", k, i, got[k][i], w)
					}
				}
			}
		})
	}
}

// randomDense32 returns a rows×cols float32 matrix of standard normal values from rng, which
// requires gradients.
func randomDense32(rng *rand.Rand, rows, cols int) *mat.Dense[float32] {
	v := make([]float32, rows*cols)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	m := NewDense(rows, cols, v)
	m.SetRequiresGrad(true)
	return m
}

// TestElementWiseKernelsExact checks the element-wise kernels of the backward passes bit for bit
// against their Go loops, on 37 values (four blocks of eight and a rest), with dropped
// infinities and NaNs under the dropout mask.
func TestElementWiseKernelsExact(t *testing.T) {
	if !vectorCapable {
		t.Skip("no AVX2/FMA: the kernels do not run")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 37
	random := func() []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	a, b, x, row, grow := random(), random(), random(), random(), random()
	mask := random()
	for i := range mask {
		if i%3 == 0 {
			mask[i] = 0
		}
	}
	a[3], a[6] = float32(math.Inf(1)), float32(math.NaN()) // both dropped: mask[3] = mask[6] = 0
	tests := map[string]func() []float32{
		"mul": func() []float32 { d := make([]float32, n); mulVec(d, a, b); return d },
		"add": func() []float32 { d := make([]float32, n); addVec(d, a, b); return d },
		"dropAdd": func() []float32 {
			d := make([]float32, n)
			dropAddVec(d, a, mask, x)
			return d
		},
		"affineGrad": func() []float32 {
			ggain, gbias := append([]float32(nil), b...), append([]float32(nil), x...)
			accumulateAffineGrad(ggain, gbias, row, grow, 0.3, 1.7)
			return append(ggain, gbias...)
		},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			run := func(vector bool) []uint32 {
				defer SetVectorKernels(SetVectorKernels(vector))
				var bits []uint32
				for _, v := range f() {
					bits = append(bits, math.Float32bits(v))
				}
				return bits
			}
			assert.Equal(t, run(false), run(true))
		})
	}
}
