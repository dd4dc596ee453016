package train

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newParam64(shape []int, values []float64) *nn.Param { return newParam[float64](shape, values) }

func newParam[T float.DType](shape []int, values []float64) *nn.Param {
	return nn.NewParam(mat.NewDense[T](mat.WithShape(shape...), mat.WithBacking(convert[T](values))))
}

// convert copies xs into a new []T.
func convert[T, U float.DType](xs []U) []T {
	ys := make([]T, len(xs))
	for i, x := range xs {
		ys[i] = T(x)
	}
	return ys
}

func setGrad(p *nn.Param, g []float64) {
	p.AccGrad(mat.NewDense[float64](mat.WithShape(p.Shape()...), mat.WithBacking(append([]float64(nil), g...))))
}

// TestAdamWMatchesPyTorch replays fixed gradients through the trainer's clipping, schedule and
// AdamW, and compares every step with torch.optim.AdamW + LambdaLR + clip_grad_norm_: on float64
// parameters (the scalar path) to 1e-12, and on float32 parameters, which PyTorch and the
// trainer's eight-wide kernel update in float32, to about one float32 rounding (values of order
// 1; they agree to 1e-7). The float32 gradient norm is PyTorch's in float32, ours in float64.
func TestAdamWMatchesPyTorch(t *testing.T) {
	t.Run("float64", func(t *testing.T) { replayAdamW[float64](t, readFixtures(t), 1e-12, 1e-12) })
	raw, err := os.ReadFile("testdata/torch_adamw32.json")
	require.NoError(t, err)
	var f32 torchFixtures
	require.NoError(t, json.Unmarshal(raw, &f32))
	require.NotEmpty(t, f32.AdamW)
	t.Run("float32", func(t *testing.T) { replayAdamW[float32](t, f32, 2.5e-7, 1e-5) })
}

func replayAdamW[T float.DType](t *testing.T, f torchFixtures, tol, normTol float64) {
	for _, c := range f.AdamW {
		t.Run(c.Name, func(t *testing.T) {
			params := make([]*nn.Param, len(c.Shapes))
			for i, s := range c.Shapes {
				params[i] = newParam[T](s, c.Initial[i])
			}
			opt := newAdamW(params, c.WeightDecay)
			for step := range c.Total {
				for i, g := range c.Grads[step] {
					if g != nil {
						params[i].AccGrad(mat.NewDense[T](mat.WithShape(params[i].Shape()...), mat.WithBacking(convert[T](g))))
					}
				}
				norm := gradNorm(params)
				assert.InDelta(t, c.Norms[step], norm, normTol, "step %d: gradient norm", step+1)
				clipGradients(params, norm, c.MaxNorm)
				lr := c.LR * linearSchedule(step, c.Warmup, c.Total)
				assert.InDelta(t, c.LRs[step], lr, 1e-15, "step %d: learning rate", step+1)
				opt.step(lr)
				zeroGrads(params)
				for i, p := range params {
					assert.InDeltaSlice(t, c.Values[step][i], convert[float64](op.Values[T](p)), tol, "step %d, param %d", step+1, i)
				}
			}
		})
	}
}

// TestAdamKernelMatchesLoop checks the eight-wide kernel against adamUpdate32, bit for bit, over
// lengths around multiples of 8 and several steps, and the update split across goroutines
// against one goroutine.
func TestAdamKernelMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	random := func(n int, scale float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * scale)
		}
		return x
	}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 1000, 3*adamChunk + 5} {
		w, g := random(n, 1), random(n, 0.1)
		m, v := make([]float32, n), make([]float32, n)
		w2, m2, v2 := slices.Clone(w), slices.Clone(m), slices.Clone(v)
		for step := 1; step <= 3; step++ {
			c := newAdamConsts(1e-2, 0.01, step)
			adamKernel(w, g, m, v, &c)
			adamUpdate32(w2, g, m2, v2, &c)
			for name, pair := range map[string][2][]float32{"w": {w, w2}, "m": {m, m2}, "v": {v, v2}} {
				for i := range pair[0] {
					if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
						t.Fatalf("n=%d, step %d: %s[%d] is %v, want %v", n, step, name, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
	}

	const n = 5*adamChunk + 3
	segsFor := func() []adamSegment {
		r := rand.New(rand.NewPCG(42, 42))
		rng = r
		segs := make([]adamSegment, 3)
		for i := range segs {
			size := n / (i + 1)
			segs[i] = adamSegment{w: random(size, 1), g: random(size, 0.1), m: random(size, 0.01), v: make([]float32, size), c: newAdamConsts(1e-3, 0.1, i+1)}
		}
		return segs
	}
	one, two := segsFor(), segsFor()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	updateSegments(one)
	runtime.GOMAXPROCS(4)
	updateSegments(two)
	for i := range one {
		assert.Equal(t, one[i].w, two[i].w, "segment %d", i)
		assert.Equal(t, one[i].m, two[i].m, "segment %d", i)
	}
}

// TestAdamWBiasCorrectionAdvances: with a constant gradient g the bias-corrected moments are exactly
// g and g², so every step moves the parameter by lr·g/(|g|+ε). A correction stuck at step 1, as
// with spago's Adam when IncExample is never called, would make step 2 move by 1.9/√1.999 ≈ 1.34
// times that, and the steps would keep growing.
func TestAdamWBiasCorrectionAdvances(t *testing.T) {
	const lr, g = 0.1, 0.5
	p := newParam64([]int{1}, []float64{1})
	opt := newAdamW([]*nn.Param{p}, 0)
	want := lr * g / (g + adamEps)
	prev := 1.0
	for step := 1; step <= 5; step++ {
		setGrad(p, []float64{g})
		opt.step(lr)
		zeroGrads([]*nn.Param{p})
		w := op.Values[float64](p)[0]
		assert.InDelta(t, want, prev-w, 1e-15, "step %d", step)
		prev = w
	}
	assert.Equal(t, 5, opt.states[0].step)
}

func TestAdamWSkipsParamsWithoutGradient(t *testing.T) {
	used := newParam64([]int{2}, []float64{1, 2})
	unused := newParam64([]int{2}, []float64{3, 4})
	opt := newAdamW([]*nn.Param{used, unused}, 0.5)
	setGrad(used, []float64{1, 1})
	opt.step(0.1)
	assert.Equal(t, []float64{3, 4}, op.Values[float64](unused), "no weight decay without a gradient")
	assert.Zero(t, opt.states[1].step)
	assert.NotEqual(t, []float64{1, 2}, op.Values[float64](used))
}

func TestLinearSchedule(t *testing.T) {
	tests := []struct {
		warmup, total int
		want          []float64 // factors for done = 0, 1, …, total
	}{
		{2, 7, []float64{0, 0.5, 1, 0.8, 0.6, 0.4, 0.2, 0}},
		{0, 4, []float64{1, 0.75, 0.5, 0.25, 0}},
		{4, 4, []float64{0, 0.25, 0.5, 0.75, 0}},
		{1, 1, []float64{0, 0}},
	}
	for _, tt := range tests {
		for done, want := range tt.want {
			assert.InDelta(t, want, linearSchedule(done, tt.warmup, tt.total), 1e-15, "warmup %d, total %d, done %d", tt.warmup, tt.total, done)
		}
	}
}

func TestClipGradients(t *testing.T) {
	tests := []struct {
		grad    []float64
		maxNorm float64
		want    []float64
	}{
		{[]float64{3, 4}, 1, []float64{3 / (5 + 1e-6), 4 / (5 + 1e-6)}},
		{[]float64{3, 4}, 10, []float64{3, 4}},
		{[]float64{0.3, 0.4}, 0.5, []float64{0.3 * 0.5 / (0.5 + 1e-6), 0.4 * 0.5 / (0.5 + 1e-6)}}, // at the limit, as PyTorch
	}
	for _, tt := range tests {
		p := newParam64([]int{2}, []float64{0, 0})
		setGrad(p, tt.grad)
		params := []*nn.Param{p}
		norm := gradNorm(params)
		assert.InDelta(t, math.Hypot(tt.grad[0], tt.grad[1]), norm, 1e-15)
		clipGradients(params, norm, tt.maxNorm)
		assert.InDeltaSlice(t, tt.want, op.Values[float64](p.Grad()), 1e-15)
	}
}

// TestSumSquares32 checks the chunked float32 sum of squares against the sequential float64
// sum, and that it gives the same bits on one goroutine as on several; and scale32 against
// scaleInPlace.
func TestSumSquares32(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 43))
	var xs [][]float32
	for _, n := range []int{0, 3, adamChunk - 1, 2*adamChunk + 7, 5} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		xs = append(xs, x)
	}
	want := 0.0
	for _, x := range xs {
		want += sumSquares(x)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := sumSquares32(xs)
	runtime.GOMAXPROCS(4)
	several := sumSquares32(xs)
	assert.Equal(t, math.Float64bits(one), math.Float64bits(several), "one goroutine %v, several %v", one, several)
	assert.InDelta(t, want, one, 1e-12*want)

	copies := make([][]float32, len(xs))
	for i, x := range xs {
		copies[i] = slices.Clone(x)
		scaleInPlace(copies[i], 0.3)
	}
	scale32(xs, 0.3)
	assert.Equal(t, copies, xs)
}
