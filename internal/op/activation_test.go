package op

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
)

var activations = []struct {
	name string
	f    func(mat.Tensor) mat.Tensor
	ref  func(float64) float64
}{
	{"GELU", GELU, func(x float64) float64 { return x * 0.5 * math.Erfc(-x/math.Sqrt2) }},
	{"GELUTanh", GELUTanh, func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}},
	{"Tanh", Tanh, math.Tanh},
	{"ReLU", ReLU, func(x float64) float64 { return math.Max(x, 0) }},
}

func TestActivationValues(t *testing.T) {
	// PyTorch: F.gelu(torch.tensor(1.0, dtype=torch.float64)) and approximate="tanh".
	assert.InDelta(t, 0.8413447460685429, GELU(mat.Scalar(1.0)).Item().F64(), 1e-15)
	assert.InDelta(t, 0.8411919906082768, GELUTanh(mat.Scalar(1.0)).Item().F64(), 1e-15)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, a := range activations {
		t.Run(a.name, func(t *testing.T) {
			x := gradcheck.Random(rng, 7, 5)
			y := a.f(x).Value().Data().F64()
			for i, v := range x.Data().F64() {
				assert.InDelta(t, a.ref(3*v), a.f(mat.Scalar(3*v)).Item().F64(), 1e-15)
				assert.InDelta(t, a.ref(v), y[i], 1e-15)
			}
		})
	}
}

func TestActivationGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, a := range activations {
		t.Run(a.name, func(t *testing.T) {
			x := gradcheck.Random(rng, 6, 4)
			for i, d := 0, x.Data().F64(); i < len(d); i++ {
				d[i] *= 3
				if a.name == "ReLU" && math.Abs(d[i]) < 1e-3 { // keep away from the kink
					d[i] = 0.5
				}
			}
			gradcheck.Check(t, func() mat.Tensor { return gradcheck.Projection(a.f(x), 3) }, 1e-6, x)
		})
	}
}

func TestActivationFloat32Parallel(t *testing.T) {
	// Large enough to be split across goroutines.
	n := 3 * elementWork
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%97)/16 - 3
	}
	y := GELU(NewDense(n/4, 4, x)).Value().Data().F32()
	for i, v := range x {
		if want := float32(float64(v) * 0.5 * math.Erfc(-float64(v)/math.Sqrt2)); math.Abs(float64(y[i]-want)) > 1e-6 {
			t.Fatalf("element %d: GELU(%g) = %g, want %g", i, v, y[i], want)
		}
	}
}

func TestFastNormal(t *testing.T) {
	var worstCDF, worstPDF float64
	for x := -12.0; x <= 12; x += 1e-3 {
		cdf, pdf := fastNormal(x)
		wantCDF, wantPDF := exactNormal(x)
		worstCDF = math.Max(worstCDF, math.Abs(cdf-wantCDF))
		worstPDF = math.Max(worstPDF, math.Abs(pdf-wantPDF))
	}
	assert.Less(t, worstCDF, 1e-10)
	assert.Less(t, worstPDF, 1e-10)
	for _, x := range []float64{-1e3, -8, math.Inf(-1)} {
		cdf, pdf := fastNormal(x)
		assert.Equal(t, 0.0, cdf, x)
		assert.Equal(t, 0.0, pdf, x)
	}
	cdf, _ := fastNormal(math.Inf(1))
	assert.Equal(t, 1.0, cdf)
	cdf, pdf := fastNormal(math.NaN())
	assert.True(t, math.IsNaN(cdf) && math.IsNaN(pdf))
}
