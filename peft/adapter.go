package peft

import (
	"errors"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
)

// Adapter is a parameter-efficient adapter around a frozen linear layer y = W·x + b, W out×in.
type Adapter interface {
	nn.StandardModel
	// Forward maps each token, an in×1 column vector, to an out×1 vector through the adapted layer.
	// Forward(xs ...mat.Tensor) []mat.Tensor comes from nn.StandardModel.

	// ForwardRows maps row-stacked tokens X (n×in) to n×out; it is the fast path.
	ForwardRows(x mat.Tensor) mat.Tensor
	// BaseLayer returns the wrapped linear layer, whose W and B are frozen.
	BaseLayer() *linear.Model
	// TrainableParams returns the adapter's own parameters, in a fixed order.
	TrainableParams() []*nn.Param
	// Merge folds the adapter into the base weights, so the forward is the plain base forward.
	Merge() error
	// Unmerge restores the base weights that Merge changed.
	Unmerge() error
	// Merged reports whether the adapter is folded into the base weights.
	Merged() bool
	// Regularization returns the method's penalty to add to the training loss, as a scalar node,
	// or nil when the method has none.
	Regularization() mat.Tensor
	// SetTraining switches training-only behaviour such as dropout on or off.
	SetTraining(on bool)
	// Validate reports parameters that make the adapter unusable, such as NaN values.
	Validate() error
}

// InputDropout is implemented by adapters that drop values of their own input in training
// (LoRA's lora_dropout). A model that keys its dropout masks per sequence, so that a run repeats
// whichever goroutine computes which sequences when, hands the adapter the generator of each
// call's mask, keyed as its own; ForwardRows draws from the adapter's own generator instead.
type InputDropout interface {
	// InputDropoutRate is the probability of zeroing each input value in training; 0 for none.
	InputDropoutRate() float64
	// ForwardRowsMasked is ForwardRows with the dropout mask drawn from rng, one Float64 per
	// input value, row after row, as rand.New(rng).Float64 draws them (a *rand.Rand is a
	// rand.Source too).
	ForwardRowsMasked(x mat.Tensor, rng rand.Source) mat.Tensor
}

// Config describes one adapter method and its hyper-parameters; the same Config builds the adapter
// of every targeted layer.
type Config interface {
	// PeftType is the method's name in PEFT's adapter_config.json: "HRA", "LORA" or "OFT".
	PeftType() string
	// Validate checks the configuration on its own, before any layer is known.
	Validate() error
	// New wraps base with a new adapter initialised from rng, a math/rand/v2 generator, freezing
	// base's parameters. It fails on a nil base or rng, and with ErrSharedBase if another adapter
	// in use wraps base.
	New(base *linear.Model, rng *rand.Rand) (Adapter, error)
}

// Errors shared by every method; adapters wrap them with details.
var (
	// ErrInvalidConfig reports a configuration that cannot build an adapter.
	ErrInvalidConfig = errors.New("peft: invalid adapter configuration")
	// ErrInvalidParams reports adapter parameters that are NaN, infinite or degenerate.
	ErrInvalidParams = errors.New("peft: invalid adapter parameters")
	// ErrMerged reports a Merge of a merged adapter or an Unmerge of an unmerged one.
	ErrMerged = errors.New("peft: merge state")
)

// ErrSharedBase reports a layer that an adapter in use wraps already, or that a model reaches by
// two paths: two adapters on one weight would change each other's outputs when either merges.
var ErrSharedBase = errors.New("peft: layer wrapped already or shared")

// CountParams returns the number of scalar values in params.
func CountParams(params []*nn.Param) int {
	n := 0
	for _, p := range params {
		n += p.Size()
	}
	return n
}
