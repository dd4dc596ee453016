package train

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Options configure Fit. A zero field takes the default in its comment; the defaults are those of
// transformers' TrainingArguments.
type Options struct {
	// Epochs is the number of passes over the training set (default 3).
	Epochs int
	// Steps, if positive, is the number of optimiser steps to take, overriding Epochs: training
	// runs through as many epochs, the last one partly, as it takes (transformers' max_steps).
	Steps int
	// BatchSize is the number of examples per optimiser step (default 8); the last batch of an
	// epoch holds the rest and may be smaller.
	BatchSize int
	// LR is the peak learning rate (default 5e-5).
	LR float64
	// WarmupRatio in [0, 1] is the fraction of all steps over which the learning rate rises
	// linearly from 0 to LR, rounded up to whole steps; after it, the rate falls linearly to 0 at
	// the last step.
	WarmupRatio float64
	// WeightDecay is AdamW's decoupled weight decay, applied to every trainable parameter
	// (default 0).
	WeightDecay float64
	// MaxGradNorm caps the global norm of the gradients of each step (default 1); negative turns
	// clipping off.
	MaxGradNorm float64
	// Seed draws the order of the training examples in each epoch.
	Seed uint64
	// Workers is the number of goroutines that share each mini-batch (default runtime.NumCPU()).
	Workers int
	// EvalSet, if not empty, is evaluated after every EvalEvery steps, or at the end of every
	// epoch when EvalEvery is 0, and always after the last step.
	EvalSet   []Example
	EvalEvery int
	// TagNames, for token classification, name the tags (IOB2: B-PER, I-PER, O, …) so that
	// evaluations measure entity-level F1.
	TagNames []string
	// OnStep, if set, is called after each optimiser step.
	OnStep func(StepInfo)
	// OnEval, if set, is called after each evaluation.
	OnEval func(EvalInfo)
	// Check, if set, is called after each optimiser step, typically to validate the adapters; an
	// error stops training.
	Check func() error
}

// StepInfo describes one optimiser step.
type StepInfo struct {
	// Step counts optimiser steps from 1; Epoch counts passes over the training set from 1.
	Step, Epoch int
	// Loss is the mean cross-entropy of the batch plus Penalty.
	Loss float64
	// Penalty is the model's Regularization, 0 if it has none.
	Penalty float64
	// LR is the learning rate this step used.
	LR float64
	// GradNorm is the global gradient norm before clipping.
	GradNorm float64
	// Examples is the size of the batch.
	Examples int
	// ExamplesPerSec is Examples divided by the time the step took.
	ExamplesPerSec float64
	// Elapsed is the time since Fit started.
	Elapsed time.Duration
}

// EvalInfo is the result of an evaluation during training.
type EvalInfo struct {
	// Step is the number of optimiser steps done; Epoch the epoch it fell in, from 1.
	Step, Epoch int
	Metrics
}

// History records a training run.
type History struct {
	Steps []StepInfo
	Evals []EvalInfo
}

// Errors of Fit and Evaluate; the wrapping errors give details. Labels out of range wrap
// dataset.ErrLabelRange.
var (
	// ErrInvalidOptions reports Options that cannot be used.
	ErrInvalidOptions = errors.New("train: invalid options")
	// ErrInvalidExample reports an example that no model can take.
	ErrInvalidExample = errors.New("train: invalid example")
	// ErrModel reports a Classifier that broke its contract, such as logits of the wrong shape.
	ErrModel = errors.New("train: model")
	// ErrNonFinite reports a NaN or infinite loss or gradient norm.
	ErrNonFinite = errors.New("train: non-finite value")
)

// withDefaults checks o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"Epochs", float64(o.Epochs)}, {"Steps", float64(o.Steps)}, {"BatchSize", float64(o.BatchSize)},
		{"LR", o.LR}, {"WeightDecay", o.WeightDecay}, {"Workers", float64(o.Workers)},
		{"EvalEvery", float64(o.EvalEvery)}, {"WarmupRatio", o.WarmupRatio},
	} {
		if !(f.v >= 0) || f.v > 1e300 {
			return o, fmt.Errorf("%w: %s is %v, want a finite value ≥ 0", ErrInvalidOptions, f.name, f.v)
		}
	}
	if o.WarmupRatio > 1 {
		return o, fmt.Errorf("%w: WarmupRatio is %v, want at most 1", ErrInvalidOptions, o.WarmupRatio)
	}
	if o.MaxGradNorm != o.MaxGradNorm {
		return o, fmt.Errorf("%w: MaxGradNorm is NaN", ErrInvalidOptions)
	}
	if o.Epochs == 0 {
		o.Epochs = 3
	}
	if o.BatchSize == 0 {
		o.BatchSize = 8
	}
	if o.LR == 0 {
		o.LR = 5e-5
	}
	if o.MaxGradNorm == 0 {
		o.MaxGradNorm = 1
	}
	if o.Workers == 0 {
		o.Workers = runtime.NumCPU()
	}
	return o, nil
}
