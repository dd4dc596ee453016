package train

import (
	"math"

	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
)

// Gradients kept across steps. spago's Dense.AccGrad copies the first gradient a parameter gets
// into a new buffer (Clone) and adds the later ones onto it; dropping the gradients after every
// step (ZeroGrad) so made each step allocate and fill one buffer per parameter anew: 440 MB for a
// full fine-tuning step of bert-base, a fifth of its CPU time in first touches of fresh memory.
// Fit keeps each buffer instead, reset in place, and drops them all when it returns.
//
// AdamW must still skip a parameter that receives no gradient in a step, as PyTorch skips one
// whose .grad is None: so the buffers are reset to −0, not +0. Any contribution the backward adds
// turns −0 into its own value (−0 + x = x, and −0 + +0 = +0), so a parameter whose buffer is
// still −0 everywhere after the backward received nothing, and its gradient is dropped before
// the update. The one case this reads differently from PyTorch: a parameter all of whose
// gradient contributions are exactly −0 (a tensor of negative zeros) counts as untouched, where
// PyTorch would count a zero gradient and apply weight decay. Wherever a buffer stays −0 the
// update is the same as with +0 (β₁·m + (1−β₁)·(−0) rounds as with +0, and the squares are +0).

// keepGradients switches the lever; SetKeepGradients sets it.
var keepGradients = true

// SetKeepGradients turns the keeping of gradient buffers across Fit's steps on or off (off: they
// are dropped after every step, as before) and returns whether it was on; for benchmarks that
// compare both in one process. The parameters follow the same path either way. Call it between
// steps.
func SetKeepGradients(on bool) (was bool) {
	was, keepGradients = keepGradients, on
	return was
}

// negZero32 and negZero64 are the bits of −0.
const (
	negZero32 = 1 << 31
	negZero64 = 1 << 63
)

// resetGrads readies the gradients of params for the next step: reset to −0 in place when
// keepGradients is on, else dropped.
func resetGrads(params []*nn.Param) {
	if !keepGradients {
		zeroGrads(params)
		return
	}
	grads32 := splitGrads(params, func(g []float64) { fill(g, math.Copysign(0, -1)) })
	negZero := math.Float32frombits(negZero32)
	forParts(grads32, func(g []float32) { fill(g, negZero) })
}

func fill[T float.DType](xs []T, v T) {
	for i := range xs {
		xs[i] = v
	}
}

// dropUntouched drops the gradient of every parameter whose kept buffer is still −0 everywhere:
// the backward gave it nothing, so AdamW must skip it. A buffer the backward touched usually
// shows it in its first value.
func dropUntouched(params []*nn.Param) {
	for _, p := range params {
		if !p.HasGrad() {
			continue
		}
		var untouched bool
		switch p.Value().Data().BitSize() {
		case 32:
			untouched = allBits(op.Values[float32](p.Grad()), func(v float32) bool { return math.Float32bits(v) == negZero32 })
		default:
			untouched = allBits(op.Values[float64](p.Grad()), func(v float64) bool { return math.Float64bits(v) == negZero64 })
		}
		if untouched {
			p.ZeroGrad()
		}
	}
}

func allBits[T float.DType](xs []T, is func(T) bool) bool {
	for _, x := range xs {
		if !is(x) {
			return false
		}
	}
	return true
}
