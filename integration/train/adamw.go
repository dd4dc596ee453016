package train

import (
	"math"

	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
)

// AdamW's fixed hyper-parameters, PyTorch's and transformers' defaults.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// adamW is torch.optim.AdamW over a fixed list of parameters. Each parameter counts its own steps
// for the bias correction, as PyTorch does: a parameter without a gradient in a step is skipped
// entirely (no decay, no moment update, no step counted). spago's own Adam needs IncExample() to
// advance its bias correction, which optimizers.Optimize never calls; keeping the count here
// avoids that trap.
//
// The moments have the parameters' type, as in PyTorch. Those of float32 parameters live in one
// flat slice, and a step updates all float32 parameters as one list of chunks spread over the
// cores, eight values at a time with AVX (adamUpdate32); float64 parameters (gradient checks,
// the PyTorch fixtures) take the scalar float64 loop (adamUpdate).
type adamW struct {
	params      []*nn.Param
	weightDecay float64
	states      []adamState // one per param
	moments32   []float32   // m and v of every float32 parameter, allocated on the first step
}

type adamState struct {
	m, v     []float64 // of a float64 parameter, allocated on its first gradient
	m32, v32 []float32 // of a float32 parameter, parts of moments32
	step     int
}

func newAdamW(params []*nn.Param, weightDecay float64) *adamW {
	return &adamW{params: params, weightDecay: weightDecay, states: make([]adamState, len(params))}
}

// step updates every parameter that has a gradient with learning rate lr.
func (o *adamW) step(lr float64) { o.update(lr, 1, false) }

// update is step on the gradients scaled by scale (clipScale's factor) and, when reset is set,
// resets each gradient to −0 as it reads it (see resetGrads); without reset, scale must be 1.
func (o *adamW) update(lr, scale float64, reset bool) {
	var segs []adamSegment
	for i, p := range o.params {
		if !p.HasGrad() {
			continue
		}
		st := &o.states[i]
		st.step++
		if p.Value().Data().BitSize() == 32 {
			o.allocate32()
			segs = append(segs, adamSegment{
				w: op.Values[float32](p), g: op.Values[float32](p.Grad()), m: st.m32, v: st.v32,
				c: newAdamConsts(lr, o.weightDecay, st.step), scale: scale, reset: reset,
			})
			continue
		}
		if st.m == nil {
			st.m, st.v = make([]float64, p.Size()), make([]float64, p.Size())
		}
		g := op.Values[float64](p.Grad())
		if scale != 1 {
			scaleInPlace(g, scale)
		}
		adamUpdate(op.Values[float64](p), g, st, lr, o.weightDecay)
		if reset {
			fill(g, math.Copysign(0, -1))
		}
	}
	updateSegments(segs)
}

// allocate32 gives every float32 parameter its moments, in one slice, unless done already.
func (o *adamW) allocate32() {
	if o.moments32 != nil {
		return
	}
	size := 0
	for _, p := range o.params {
		if p.Value().Data().BitSize() == 32 {
			size += p.Size()
		}
	}
	o.moments32 = make([]float32, 2*size)
	rest := o.moments32
	for i, p := range o.params {
		if p.Value().Data().BitSize() == 32 {
			n := p.Size()
			o.states[i].m32, o.states[i].v32, rest = rest[:n:n], rest[n:2*n:2*n], rest[2*n:]
		}
	}
}

// adamUpdate applies one AdamW step to w given its gradient g, in the order of torch.optim.AdamW:
// w ← w·(1 − lr·λ); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// w ← w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
func adamUpdate[T float.DType](w, g []T, st *adamState, lr, weightDecay float64) {
	decay := 1 - lr*weightDecay
	stepSize := lr / (1 - math.Pow(adamBeta1, float64(st.step)))
	sqrtCorrection2 := math.Sqrt(1 - math.Pow(adamBeta2, float64(st.step)))
	for j, gj := range g {
		gf := float64(gj)
		st.m[j] = adamBeta1*st.m[j] + (1-adamBeta1)*gf
		st.v[j] = adamBeta2*st.v[j] + (1-adamBeta2)*gf*gf
		denom := math.Sqrt(st.v[j])/sqrtCorrection2 + adamEps
		w[j] = T(float64(w[j])*decay - stepSize*st.m[j]/denom)
	}
}

// zeroGrads drops the gradients of params.
func zeroGrads(params []*nn.Param) {
	for _, p := range params {
		p.ZeroGrad()
	}
}

// gradNorm returns the Euclidean norm of all gradients of params taken together. The float32
// gradients are summed in chunks over the cores (sumSquares32).
func gradNorm(params []*nn.Param) float64 {
	sum := 0.0
	grads32 := splitGrads(params, func(g []float64) { sum += sumSquares(g) })
	return math.Sqrt(sum + sumSquares32(grads32))
}

// splitGrads returns the float32 gradients of the params that have one, to be worked on in chunks
// across the cores, and calls f64 on each float64 gradient.
func splitGrads(params []*nn.Param, f64 func([]float64)) [][]float32 {
	var grads32 [][]float32
	for _, p := range params {
		if !p.HasGrad() {
			continue
		}
		switch p.Value().Data().BitSize() {
		case 32:
			grads32 = append(grads32, op.Values[float32](p.Grad()))
		default:
			f64(op.Values[float64](p.Grad()))
		}
	}
	return grads32
}

func sumSquares[T float.DType](xs []T) float64 {
	s := 0.0
	for _, x := range xs {
		s += float64(x) * float64(x)
	}
	return s
}

// clipGradients scales the gradients of params by maxNorm/(norm + 1e-6) when that is below 1, as
// torch.nn.utils.clip_grad_norm_ does, given their global norm.
func clipGradients(params []*nn.Param, norm, maxNorm float64) {
	coef := clipScale(norm, maxNorm)
	if coef == 1 {
		return
	}
	grads32 := splitGrads(params, func(g []float64) { scaleInPlace(g, coef) })
	scale32(grads32, coef)
}

// clipScale returns the factor clipGradients scales by: maxNorm/(norm + 1e-6) when that is below
// 1 and maxNorm positive, else 1.
func clipScale(norm, maxNorm float64) float64 {
	if coef := maxNorm / (norm + 1e-6); maxNorm > 0 && coef < 1 {
		return coef
	}
	return 1
}

func scaleInPlace[T float.DType](xs []T, c float64) {
	for i, x := range xs {
		xs[i] = T(float64(x) * c)
	}
}

// linearSchedule is transformers' get_linear_schedule_with_warmup: the factor of the peak learning
// rate for the optimiser step that follows `done` completed steps, rising linearly from 0 over
// warmup steps, then falling linearly to 0 at total. As there, the first step of a warm-up has
// learning rate 0.
func linearSchedule(done, warmup, total int) float64 {
	if done < warmup {
		return float64(done) / float64(max(1, warmup))
	}
	return max(0, float64(total-done)/float64(max(1, total-warmup)))
}
