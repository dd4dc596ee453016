package lora

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomize fills p with uniform values in [-1, 1).
func randomize(rng *rand.Rand, p mat.Matrix) {
	d := make([]float64, p.Size())
	for i := range d {
		d[i] = rng.Float64()*2 - 1
	}
	p.SetData(float.Make(d...))
}

// newTrained returns an adapter whose B is random, as after some training, so the update is not 0.
func newTrained[T float.DType](t *testing.T, rng *rand.Rand, in, out int, c Config) *Model {
	t.Helper()
	m, err := New(adaptertest.Layer[T](rng, in, out), c, rng)
	require.NoError(t, err)
	randomize(rng, m.B)
	return m
}

func TestConfigErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	base := adaptertest.Layer[float32](rng, 8, 4)
	tests := []struct {
		name string
		c    Config
	}{
		{"zero r", Config{R: 0, Alpha: 8}},
		{"negative r", Config{R: -2, Alpha: 8}},
		{"zero alpha", Config{R: 2}},
		{"negative alpha", Config{R: 2, Alpha: -1}},
		{"NaN alpha", Config{R: 2, Alpha: math.NaN()}},
		{"infinite alpha", Config{R: 2, Alpha: math.Inf(1)}},
		{"negative dropout", Config{R: 2, Alpha: 8, Dropout: -0.1}},
		{"dropout of one", Config{R: 2, Alpha: 8, Dropout: 1}},
		{"NaN dropout", Config{R: 2, Alpha: 8, Dropout: math.NaN()}},
		{"unknown init", Config{R: 2, Alpha: 8, Init: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(base, tt.c, rng)
			require.Error(t, err)
			assert.True(t, errors.Is(err, peft.ErrInvalidConfig), "%v", err)
		})
	}
	_, err := New(base, Config{R: 4, Alpha: 0.5, Dropout: 0.99, Init: GaussianInit}, rng)
	assert.NoError(t, err, "r = min(in, out)")
	// PEFT accepts a rank above min(in, out) (the update's rank is then min(in, out)), and so
	// must a file it wrote load here.
	for _, r := range []int{5, 9} {
		m, err := New(base, Config{R: r, Alpha: 8}, rng)
		require.NoError(t, err, "r = %d", r)
		assert.Equal(t, []int{r, 8}, m.A.Shape())
	}
}

// TestInterchangeable builds LoRA through the peft interfaces only, as code that switches methods
// does.
func TestInterchangeable(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var c peft.Config = Config{R: 2, Alpha: 4}
	assert.Equal(t, "LORA", c.PeftType())
	require.NoError(t, c.Validate())
	a, err := c.New(adaptertest.Layer[float32](rng, 6, 5), rng)
	require.NoError(t, err)
	assert.Len(t, a.TrainableParams(), 2)
	assert.Nil(t, a.Regularization())
	assert.False(t, a.BaseLayer().W.RequiresGrad())
}

func TestIdentityAtInit(t *testing.T) {
	for _, c := range []Config{
		{R: 8, Alpha: 16},
		{R: 8, Alpha: 16, Init: GaussianInit, UseRSLoRA: true},
		{R: 8, Alpha: 16, Dropout: 0.5}, // in training: dropout must not touch the base path
	} {
		rng := rand.New(rand.NewPCG(3, 3))
		base := adaptertest.Layer[float32](rng, 64, 32)
		x := adaptertest.Rows[float32](rng, 10, 64)
		want := op.Linear(x, base.W, base.B).Value().Data().F64()
		m, err := New(base, c, rng)
		require.NoError(t, err)
		m.SetTraining(true)
		got := m.ForwardRows(x).Value().Data().F64()
		assert.Equal(t, want, got, "bit for bit, %+v", c)
	}
}

func TestMatchesDenseUpdate(t *testing.T) {
	const in, out, r, n = 20, 12, 5, 6
	for _, rs := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(4, 4))
		c := Config{R: r, Alpha: 7, UseRSLoRA: rs}
		m := newTrained[float64](t, rng, in, out, c)
		x := adaptertest.Rows[float64](rng, n, in)
		got := m.ForwardRows(x).Value().Data().F64()

		s := 7.0 / r
		if rs {
			s = 7.0 / math.Sqrt(r)
		}
		assert.Equal(t, s, c.Scale())
		w, b, xs := m.Base.W.Data().F64(), m.Base.B.Data().F64(), x.Data().F64()
		a, bb := m.A.Data().F64(), m.B.Data().F64()
		for i := 0; i < n; i++ { // y = (W + s·B·A)·x + b, with the dense update
			for o := 0; o < out; o++ {
				y := b[o]
				for k := 0; k < in; k++ {
					var ba float64
					for j := 0; j < r; j++ {
						ba += bb[o*r+j] * a[j*in+k]
					}
					y += (w[o*in+k] + s*ba) * xs[i*in+k]
				}
				assert.InDelta(t, y, got[i*out+o], 1e-12)
			}
		}
	}
}

func TestGradients(t *testing.T) {
	for _, c := range []Config{
		{R: 3, Alpha: 6},
		{R: 3, Alpha: 6, UseRSLoRA: true, Init: GaussianInit},
		{R: 5, Alpha: 2}, // r = out_features
		{R: 3, Alpha: 6, Dropout: 0.4},
	} {
		rng := rand.New(rand.NewPCG(5, 5))
		m := newTrained[float64](t, rng, 7, 5, c)
		m.SetTraining(true)
		x := gradcheck.Random(rng, 4, 7)
		loss := func() mat.Tensor {
			m.maskRNG = rand.New(rand.NewPCG(9, 9)) // the same mask in every evaluation
			return gradcheck.Projection(m.ForwardRows(x), 11)
		}
		a := m.A.Value().(*mat.Dense[float64])
		b := m.B.Value().(*mat.Dense[float64])
		gradcheck.Check(t, loss, 1e-6, a, b, x)
	}
}

func TestBaseFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m := newTrained[float64](t, rng, 6, 4, Config{R: 2, Alpha: 4})
	x := gradcheck.Random(rng, 3, 6)
	require.NoError(t, ag.Backward(gradcheck.Projection(m.ForwardRows(x), 1)))
	assert.False(t, m.Base.W.HasGrad())
	assert.False(t, m.Base.B.HasGrad())
	assert.True(t, m.A.HasGrad())
	assert.True(t, m.B.HasGrad())
	assert.Equal(t, 2*(6+4), peft.CountParams(m.TrainableParams()), "r·(in+out)")
}

func TestMergeUnmerge(t *testing.T) {
	for _, c := range []Config{{R: 6, Alpha: 12}, {R: 6, Alpha: 12, UseRSLoRA: true}} {
		rng := rand.New(rand.NewPCG(7, 7))
		m := newTrained[float32](t, rng, 32, 16, c)
		base := m.Base
		orig := append([]float32(nil), base.W.Data().F32()...)
		x := adaptertest.Rows[float32](rng, 9, 32)
		adapted := m.ForwardRows(x).Value().Data().F64()

		require.NoError(t, m.Merge())
		assert.True(t, m.Merged())
		assert.ErrorIs(t, m.Merge(), peft.ErrMerged)
		merged := m.ForwardRows(x).Value().Data().F64()
		assert.LessOrEqual(t, adaptertest.MaxAbsDiff(adapted, merged), 1e-5, "rslora=%v", c.UseRSLoRA)
		plain := op.Linear(x, base.W, base.B).Value().Data().F64()
		assert.Equal(t, plain, merged, "merged forward is the base forward")

		require.NoError(t, m.Unmerge())
		assert.False(t, m.Merged())
		assert.ErrorIs(t, m.Unmerge(), peft.ErrMerged)
		for i, v := range base.W.Data().F32() {
			require.InDelta(t, orig[i], v, 1e-5)
		}
	}
}

func TestValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tt := range []struct {
		name   string
		param  func(m *Model) *nn.Param
		value  float64
		errHas string
	}{
		{"NaN in A", func(m *Model) *nn.Param { return m.A }, math.NaN(), "A[0, 3]"},
		{"infinity in B", func(m *Model) *nn.Param { return m.B }, math.Inf(-1), "B[1, 1]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(adaptertest.Layer[float32](rng, 6, 4), Config{R: 2, Alpha: 2}, rng)
			require.NoError(t, err)
			require.NoError(t, m.Validate())
			tt.param(m).Data().F32()[3] = float32(tt.value)
			err = m.Validate()
			assert.ErrorIs(t, err, peft.ErrInvalidParams)
			assert.Contains(t, err.Error(), tt.errHas)
			assert.ErrorIs(t, m.Merge(), peft.ErrInvalidParams)
			assert.False(t, m.Merged())
		})
	}
}

func TestDropout(t *testing.T) {
	const in, out, n, p = 16, 8, 4, 0.25
	newModel := func() *Model {
		rng := rand.New(rand.NewPCG(10, 10))
		return newTrained[float64](t, rng, in, out, Config{R: 4, Alpha: 8, Dropout: p})
	}
	m := newModel()
	x := adaptertest.Rows[float64](rand.New(rand.NewPCG(11, 11)), n, in)
	forward := func(m *Model) []float64 { return m.ForwardRows(x).Value().Data().F64() }

	eval := forward(m)
	assert.Equal(t, eval, forward(m), "no dropout outside training")
	noDropout := newModel()
	noDropout.Config.Dropout = 0
	assert.Equal(t, forward(noDropout), eval, "outside training the input is whole")

	m.SetTraining(true)
	first, second := forward(m), forward(m)
	assert.NotEqual(t, eval, first)
	assert.NotEqual(t, first, second, "a new mask each forward")

	twin := newModel()
	twin.SetTraining(true)
	assert.Equal(t, first, forward(twin), "same seed, same masks")
	assert.Equal(t, second, forward(twin))

	// Inverted dropout keeps the expectation: the mean update over many masks tends to the eval
	// update. Without the 1/(1−p) scaling it would tend to (1−p) times it.
	base := op.Linear(x, m.Base.W, m.Base.B).Value().Data().F64()
	const draws = 4000
	meanUpdate := make([]float64, len(eval))
	evalUpdate := make([]float64, len(eval))
	for i := range eval {
		evalUpdate[i] = eval[i] - base[i]
	}
	for range draws {
		for i, v := range forward(m) {
			meanUpdate[i] += (v - base[i]) / draws
		}
	}
	zero := make([]float64, len(eval))
	assert.LessOrEqual(t, adaptertest.MaxAbsDiff(meanUpdate, evalUpdate), 0.03*adaptertest.MaxAbsDiff(evalUpdate, zero))

	// A Model that New did not build, as after gob decoding, still drops out.
	decoded := &Model{Base: m.Base, A: m.A, B: m.B, Config: m.Config}
	decoded.SetTraining(true)
	assert.NotEqual(t, eval, forward(decoded))

	// Each mask value is 0 or 1/(1−p), with about a fraction 1−p kept.
	mask := op.DropoutMask[float64](100000, p, rand.New(rand.NewPCG(12, 12)))
	kept := 0
	for _, v := range mask {
		if v != 0 {
			require.Equal(t, 1/(1-p), v)
			kept++
		}
	}
	assert.InDelta(t, 1-p, float64(kept)/float64(len(mask)), 0.005)
}

func TestForwardTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	m := newTrained[float64](t, rng, 5, 3, Config{R: 2, Alpha: 3})
	x := adaptertest.Rows[float64](rng, 4, 5)
	rows := m.ForwardRows(x).Value().(mat.Matrix)
	var xs []mat.Tensor
	for i := 0; i < 4; i++ {
		xs = append(xs, x.ExtractRow(i).T())
	}
	ys := m.Forward(xs...)
	require.Len(t, ys, 4)
	for i, y := range ys {
		assert.Equal(t, []int{3, 1}, y.Value().Shape())
		assert.InDeltaSlice(t, rows.ExtractRow(i).Data().F64(), y.Value().Data().F64(), 1e-12)
	}
}

func TestInitStatistics(t *testing.T) {
	const in, out, r = 512, 64, 16
	tests := []struct {
		init       Init
		bound, std float64 // bound 0: unbounded
	}{
		{KaimingInit, 1 / math.Sqrt(in), 1 / math.Sqrt(3*in)}, // uniform in ±1/√in
		{GaussianInit, 0, 1.0 / r},
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(14, 14))
		m, err := New(adaptertest.Layer[float32](rng, in, out), Config{R: r, Alpha: 1, Init: tt.init}, rng)
		require.NoError(t, err)
		assert.Equal(t, []int{r, in}, m.A.Shape())
		assert.Equal(t, []int{out, r}, m.B.Shape())
		for _, v := range m.B.Data().F64() {
			require.Zero(t, v)
		}
		a := m.A.Data().F64()
		var sum, sq float64
		for _, v := range a {
			if tt.bound > 0 {
				require.LessOrEqual(t, math.Abs(v), tt.bound)
			}
			sum += v
			sq += v * v
		}
		mean := sum / float64(len(a))
		std := math.Sqrt(sq/float64(len(a)) - mean*mean)
		assert.InDelta(t, 0, mean, 0.05*tt.std, "init %d", tt.init)
		assert.InDelta(t, tt.std, std, 0.03*tt.std, "init %d", tt.init)
	}
}
