package train

import (
	"fmt"
	"math"

	"github.com/nlpodyssey/spago/nn"
)

// AdamW is torch.optim.AdamW (β = 0.9, 0.999, ε = 1e-8) over any spago parameters, such as
// peft.TrainableParams of a wrapped model, with optional global-norm gradient clipping: the
// optimiser Fit uses, checked against PyTorch. Step updates the parameters before it returns,
// unlike spago v1.1.0's Optimizer.Optimize, whose goroutines may still be writing when it returns
// (different losses run to run at GOMAXPROCS > 1, sometimes a nil-pointer panic); and it counts
// its own steps for the bias correction, which spago's Adam advances only on IncExample.
type AdamW struct {
	// LR is the learning rate of the next Step; change it between steps for a schedule.
	LR float64
	// MaxGradNorm, if positive, scales the gradients down to this global norm before each step,
	// as torch.nn.utils.clip_grad_norm_ does.
	MaxGradNorm float64

	params []*nn.Param
	opt    *adamW
}

// NewAdamW returns an AdamW over params with learning rate lr and decoupled weight decay
// weightDecay. It fails with ErrInvalidOptions on no parameters, a nil or repeated one, or a
// negative or non-finite lr or weightDecay.
func NewAdamW(params []*nn.Param, lr, weightDecay float64) (*AdamW, error) {
	if len(params) == 0 {
		return nil, fmt.Errorf("%w: AdamW needs at least one parameter", ErrInvalidOptions)
	}
	seen := make(map[*nn.Param]bool, len(params))
	for i, p := range params {
		if p == nil || seen[p] {
			return nil, fmt.Errorf("%w: AdamW parameter %d is nil or listed twice", ErrInvalidOptions, i)
		}
		seen[p] = true
	}
	for name, v := range map[string]float64{"learning rate": lr, "weight decay": weightDecay} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: AdamW %s is %v, want a finite value ≥ 0", ErrInvalidOptions, name, v)
		}
	}
	return &AdamW{LR: lr, params: params, opt: newAdamW(params, weightDecay)}, nil
}

// Step updates every parameter that has a gradient, after clipping, and clears the gradients. It
// returns the global gradient norm before clipping; on a NaN or infinite norm it changes no
// parameter and fails with ErrNonFinite.
func (o *AdamW) Step() (float64, error) {
	defer zeroGrads(o.params)
	norm := gradNorm(o.params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("%w: gradient norm is %v", ErrNonFinite, norm)
	}
	if o.MaxGradNorm > 0 {
		clipGradients(o.params, norm, o.MaxGradNorm)
	}
	o.opt.step(o.LR)
	return norm, nil
}
