package train

import (
	"math"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
)

func newParam64(shape []int, values []float64) *nn.Param {
	return nn.NewParam(mat.NewDense[float64](mat.WithShape(shape...), mat.WithBacking(append([]float64(nil), values...))))
}

func setGrad(p *nn.Param, g []float64) {
	p.AccGrad(mat.NewDense[float64](mat.WithShape(p.Shape()...), mat.WithBacking(append([]float64(nil), g...))))
}

// TestAdamWMatchesPyTorch replays fixed gradients through the trainer's clipping, schedule and
// AdamW, and compares every step with torch.optim.AdamW + LambdaLR + clip_grad_norm_.
func TestAdamWMatchesPyTorch(t *testing.T) {
	for _, c := range readFixtures(t).AdamW {
		t.Run(c.Name, func(t *testing.T) {
			params := make([]*nn.Param, len(c.Shapes))
			for i, s := range c.Shapes {
				params[i] = newParam64(s, c.Initial[i])
			}
			opt := newAdamW(params, c.WeightDecay)
			for step := range c.Total {
				for i, g := range c.Grads[step] {
					if g != nil {
						setGrad(params[i], g)
					}
				}
				norm := gradNorm(params)
				assert.InDelta(t, c.Norms[step], norm, 1e-12, "step %d: gradient norm", step+1)
				clipGradients(params, norm, c.MaxNorm)
				lr := c.LR * linearSchedule(step, c.Warmup, c.Total)
				assert.InDelta(t, c.LRs[step], lr, 1e-15, "step %d: learning rate", step+1)
				opt.step(lr)
				zeroGrads(params)
				for i, p := range params {
					assert.InDeltaSlice(t, c.Values[step][i], op.Values[float64](p), 1e-12, "step %d, param %d", step+1, i)
				}
			}
		})
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
