package hra

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// denseH returns H = H_1⋯H_r built explicitly in float64 from U's columns.
func denseH(u []float64, in, r int) []float64 {
	h := make([]float64, in*in)
	for i := 0; i < in; i++ {
		h[i*in+i] = 1
	}
	for j := 0; j < r; j++ { // h ← h·H_j
		var norm float64
		for k := 0; k < in; k++ {
			norm += u[k*r+j] * u[k*r+j]
		}
		for row := 0; row < in; row++ {
			var s float64
			for k := 0; k < in; k++ {
				s += h[row*in+k] * u[k*r+j]
			}
			for k := 0; k < in; k++ {
				h[row*in+k] -= 2 * s * u[k*r+j] / norm
			}
		}
	}
	return h
}

func TestConfigErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	base := adaptertest.Layer[float32](rng, 8, 4)
	tests := []struct {
		name string
		c    Config
	}{
		{"zero r", Config{R: 0}},
		{"negative r", Config{R: -2}},
		{"r above in_features", Config{R: 10}},
		{"odd r with paired init", Config{R: 3}},
		{"GS with paired init", Config{R: 2, GS: true}},
		{"negative lambda", Config{R: 2, Lambda: -1}},
		{"NaN lambda", Config{R: 2, Lambda: math.NaN()}},
		{"unknown init", Config{R: 2, Init: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(base, tt.c, rng)
			require.Error(t, err)
			assert.True(t, errors.Is(err, peft.ErrInvalidConfig), "%v", err)
		})
	}
	_, err := New(base, Config{R: 3, Init: RandomInit}, rng)
	assert.NoError(t, err, "odd r is fine with the random init")
}

func TestOrthogonal(t *testing.T) {
	const in = 48
	rng := rand.New(rand.NewPCG(2, 2))
	for _, r := range []int{1, 2, 7, 16, in} {
		for _, gs := range []bool{false, true} {
			if gs && r == in {
				continue // Gram–Schmidt of in random vectors in float32 loses orthogonality; PEFT's too.
			}
			m, err := New(adaptertest.Layer[float32](rng, in, 8), Config{R: r, Init: RandomInit, GS: gs}, rng)
			require.NoError(t, err)
			// H's columns are H·e_i: transform the identity's rows.
			eye := mat.NewDense[float32](mat.WithShape(in, in), mat.WithBacking(mat.CreateIdentityMatrix[float32](in)))
			ht := m.transform(eye).Value().(mat.Matrix) // row i is (H·e_i)ᵀ, so this is Hᵀ
			hth := ht.Mul(ht.T()).Data().F64()          // Hᵀ·H
			assert.LessOrEqual(t, adaptertest.MaxAbsDiff(hth, mat.CreateIdentityMatrix[float64](in)), 1e-5, "r=%d gs=%v", r, gs)
		}
	}
}

func TestIdentityAtInit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	base := adaptertest.Layer[float32](rng, 64, 32)
	x := adaptertest.Rows[float32](rng, 10, 64)
	want := op.Linear(x, base.W, base.B).Value().Data().F64()
	m, err := New(base, Config{R: 8}, rng)
	require.NoError(t, err)
	got := m.ForwardRows(x).Value().Data().F64()
	assert.Equal(t, want, got, "bit for bit")
}

func TestMatchesDenseH(t *testing.T) {
	const in, out, r, n = 20, 12, 6, 5
	rng := rand.New(rand.NewPCG(4, 4))
	base := adaptertest.Layer[float64](rng, in, out)
	m, err := New(base, Config{R: r, Init: RandomInit}, rng)
	require.NoError(t, err)
	x := adaptertest.Rows[float64](rng, n, in)
	got := m.ForwardRows(x).Value().Data().F64()

	h := denseH(m.U.Value().Data().F64(), in, r)
	w, b, xs := base.W.Data().F64(), base.B.Data().F64(), x.Data().F64()
	for t0 := 0; t0 < n; t0++ { // z = W·H·x + b
		hx := make([]float64, in)
		for i := 0; i < in; i++ {
			for k := 0; k < in; k++ {
				hx[i] += h[i*in+k] * xs[t0*in+k]
			}
		}
		for o := 0; o < out; o++ {
			z := b[o]
			for i := 0; i < in; i++ {
				z += w[o*in+i] * hx[i]
			}
			assert.InDelta(t, z, got[t0*out+o], 1e-12)
		}
	}
}

func TestGradients(t *testing.T) {
	for _, c := range []Config{
		{R: 4, Init: RandomInit},
		{R: 4, Init: RandomInit, Lambda: 0.3},
		{R: 4, Init: RandomInit, GS: true},
		{R: 4}, // paired: H = I, but gradients are not zero
	} {
		rng := rand.New(rand.NewPCG(5, 5))
		m, err := New(adaptertest.Layer[float64](rng, 7, 5), c, rng)
		require.NoError(t, err)
		x := gradcheck.Random(rng, 3, 7)
		u := m.U.Value().(*mat.Dense[float64])
		loss := func() mat.Tensor {
			l := gradcheck.Projection(m.ForwardRows(x), 11)
			if reg := m.Regularization(); reg != nil {
				l = ag.Add(l, reg)
			}
			return l
		}
		gradcheck.Check(t, loss, 1e-6, u, x)
	}
}

func TestBaseFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m, err := New(adaptertest.Layer[float64](rng, 6, 4), Config{R: 2}, rng)
	require.NoError(t, err)
	x := gradcheck.Random(rng, 3, 6)
	require.NoError(t, ag.Backward(gradcheck.Projection(m.ForwardRows(x), 1)))
	assert.False(t, m.Base.W.HasGrad())
	assert.False(t, m.Base.B.HasGrad())
	assert.True(t, m.U.HasGrad())
	assert.Equal(t, 12, peft.CountParams(m.TrainableParams()), "r·in")
}

func TestMergeUnmerge(t *testing.T) {
	for _, c := range []Config{{R: 6, Init: RandomInit}, {R: 6, Init: RandomInit, GS: true}} {
		rng := rand.New(rand.NewPCG(7, 7))
		base := adaptertest.Layer[float32](rng, 32, 16)
		orig := append([]float32(nil), base.W.Data().F32()...)
		m, err := New(base, c, rng)
		require.NoError(t, err)
		x := adaptertest.Rows[float32](rng, 9, 32)
		adapted := m.ForwardRows(x).Value().Data().F64()

		require.NoError(t, m.Merge())
		assert.True(t, m.Merged())
		assert.ErrorIs(t, m.Merge(), peft.ErrMerged)
		merged := m.ForwardRows(x).Value().Data().F64()
		assert.LessOrEqual(t, adaptertest.MaxAbsDiff(adapted, merged), 1e-5, "gs=%v", c.GS)
		plain := op.Linear(x, base.W, base.B).Value().Data().F64()
		assert.Equal(t, plain, merged, "merged forward is the base forward")

		require.NoError(t, m.Unmerge())
		assert.ErrorIs(t, m.Unmerge(), peft.ErrMerged)
		for i, v := range base.W.Data().F32() {
			require.InDelta(t, orig[i], v, 1e-5)
		}
	}
}

func TestValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m, err := New(adaptertest.Layer[float32](rng, 6, 4), Config{R: 2}, rng)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	u := m.U.Data().F32()
	u[1] = float32(math.NaN())
	assert.ErrorIs(t, m.Validate(), peft.ErrInvalidParams)
	assert.ErrorIs(t, m.Merge(), peft.ErrInvalidParams)
	for i := 0; i < 6; i++ {
		u[i*2+1] = 0
	}
	err = m.Validate()
	assert.ErrorIs(t, err, peft.ErrInvalidParams)
	assert.Contains(t, err.Error(), "column 1")
}

func TestForwardTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m, err := New(adaptertest.Layer[float64](rng, 5, 3), Config{R: 2, Init: RandomInit}, rng)
	require.NoError(t, err)
	x := adaptertest.Rows[float64](rng, 4, 5)
	rows := m.ForwardRows(x).Value().(mat.Matrix)
	var xs []mat.Tensor
	for i := 0; i < 4; i++ {
		xs = append(xs, x.ExtractRow(i).T())
	}
	ys := m.Forward(xs...)
	for i, y := range ys {
		assert.Equal(t, []int{3, 1}, y.Value().Shape())
		assert.InDeltaSlice(t, rows.ExtractRow(i).Data().F64(), y.Value().Data().F64(), 1e-12)
	}
}
