package oft

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/op"
)

// TestCayleyKernels checks the block kernels (Gauss–Jordan without pivoting, rank-one updates)
// against the gemm forms with LU and partial pivoting: the block matrices, the states the
// backward reads and the gradients agree to float64 rounding for the exact form and PEFT's
// Neumann series, on block sizes with and without a tail of fewer than four columns and on
// generators far larger than training gives (‖Q‖ ≫ 1, where pivoting would matter most).
func TestCayleyKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, b := range []int{2, 3, 5, 8, 32, 33} {
		for _, scale := range []float64{1e-3, 0.3, 3, 30} {
			p := make([]float64, pairs(b))
			for i := range p {
				p[i] = rng.NormFloat64() * scale
			}
			ga := make([]float64, b*b)
			for i := range ga {
				ga[i] = rng.NormFloat64()
			}
			for _, f := range []form{{b: b}, {b: b, coeffs: neumannCoeffs(5)}} {
				if f.coeffs != nil && scale > 0.3 {
					continue // the series diverges; its entries overflow relative comparisons
				}
				a, st := f.matrix(p)
				wantA, wantSt := f.matrixGemm(p)
				tol := 1e-13 * (1 + scale*scale)
				assert.LessOrEqual(t, adaptertest.MaxAbsDiff(a, wantA), tol, "b=%d scale=%g neumann=%v: A", b, scale, f.coeffs != nil)
				if f.coeffs == nil {
					assert.LessOrEqual(t, adaptertest.MaxAbsDiff(st.inv, wantSt.inv), tol, "b=%d scale=%g: (I+Q)⁻¹", b, scale)
				}
				g, want := f.grad(ga, st), f.gradGemm(ga, wantSt)
				require.Len(t, g, len(want))
				var norm float64
				for _, v := range want {
					norm = math.Max(norm, math.Abs(v))
				}
				assert.LessOrEqual(t, adaptertest.MaxAbsDiff(g, want), 1e-13*(1+norm), "b=%d scale=%g neumann=%v: ∂L/∂p", b, scale, f.coeffs != nil)
			}
		}
	}
}

// TestCayleyKernelsNonFinite checks that NaN or infinite parameters give a NaN block matrix, as
// the gemm form does, which Validate then reports.
func TestCayleyKernelsNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		p := make([]float64, pairs(4))
		p[2] = v
		a, _ := form{b: 4}.matrix(p)
		assert.True(t, math.IsNaN(a[0]) || math.IsNaN(a[5]), "a NaN block for parameter %v: %v", v, a)
	}
}

// TestRotationCache checks that a layer builds its block matrices once while R is unchanged and
// anew as soon as any value of R changes (as the optimiser and COFT change it, in place), with
// the same bits as a layer that builds them on every forward.
func TestRotationCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := New(adaptertest.Layer[float32](rng, 24, 5), Config{BlockSize: 8}, rng)
	require.NoError(t, err)
	randomize(m, rng, 0.2)
	x := adaptertest.Rows[float32](rng, 3, 24)
	forward := func(cache bool) []float64 {
		defer SetRotationCache(SetRotationCache(cache))
		return m.ForwardRows(x).Value().Data().F64()
	}
	first := forward(true)
	built := m.rotation
	assert.Equal(t, first, forward(true))
	assert.Same(t, built, m.rotation, "R unchanged: the rotation is reused")
	op.Values[float32](m.R)[7] += 1e-3 // one value of one row, in place
	changed := forward(true)
	assert.NotSame(t, built, m.rotation, "R changed: the rotation is rebuilt")
	assert.NotEqual(t, first, changed)
	assert.Equal(t, forward(false), changed, "the same bits as a forward without the cache")
}

// TestRotationCacheConcurrent runs forwards and backwards of one layer from several goroutines,
// as Fit's workers do, while R changes between rounds: every goroutine gets the output and R
// gradient of a lone forward on the same R (run it with -race).
func TestRotationCacheConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m, err := New(adaptertest.Layer[float64](rng, 16, 4), Config{BlockSize: 4}, rng)
	require.NoError(t, err)
	x := adaptertest.Rows[float64](rng, 2, 16)
	for round := range 3 {
		randomize(m, rng, 0.3)
		loss := func() mat.Tensor { return ag.ReduceSum(m.ForwardRows(x)) }
		require.NoError(t, ag.Backward(loss()))
		want := m.R.Grad().Value().Data().F64()
		m.R.ZeroGrad()
		const workers = 4
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { assert.NoError(t, ag.Backward(loss())) })
		}
		wg.Wait()
		got := m.R.Grad().Value().Data().F64()
		for i := range want {
			assert.InDelta(t, workers*want[i], got[i], 1e-12*(1+math.Abs(want[i])), "round %d, value %d", round, i)
		}
		m.R.ZeroGrad()
	}
}
