package bert

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
)

// TrainableParams returns the parameters to optimise, in a fixed order: the adapters' (in module
// order) then those of the modules trained in full; with FullFineTune, every weight.
func (m *Model) TrainableParams() []*nn.Param { return slices.Clone(m.trainable) }

// Adapters returns the adapters keyed by full module name, such as
// "encoder.layer.0.attention.self.query". The map is the model's own: do not modify it.
func (m *Model) Adapters() map[string]peft.Adapter { return m.adapters }

// Config returns the checkpoint's configuration.
func (m *Model) Config() checkpoint.Config { return m.config }

// NumLabels returns the number of classes.
func (m *Model) NumLabels() int { return m.Classifier.W.Shape()[0] }

// NumParams returns the number of trainable scalar parameters and of all of them, adapters
// included, as PEFT's print_trainable_parameters counts.
func (m *Model) NumParams() (trainable, total int) {
	total = peft.CountParams(m.allBaseParams())
	for _, a := range m.adapters {
		total += peft.CountParams(a.TrainableParams())
	}
	return peft.CountParams(m.trainable), total
}

// Regularization returns the sum of the adapters' penalties as a scalar node, or nil if none has
// one.
func (m *Model) Regularization() mat.Tensor {
	var sum mat.Tensor
	for _, name := range m.adapterNames() {
		r := m.adapters[name].Regularization()
		switch {
		case r == nil:
		case sum == nil:
			sum = r
		default:
			sum = ag.Add(sum, r)
		}
	}
	return sum
}

// SetTraining switches dropout on or off: the adapters' own and the model's HiddenDropout. A new
// model is in evaluation mode.
func (m *Model) SetTraining(on bool) {
	m.training = on
	for _, a := range m.adapters {
		a.SetTraining(on)
	}
}

// Merge folds every adapter into its base weights, after which the forward pass costs what the
// base model's does. It fails with peft.ErrMerged if the model is merged already; if an adapter
// fails, those merged before it are unmerged.
func (m *Model) Merge() error {
	if m.merged {
		return fmt.Errorf("%w: bert: already merged", peft.ErrMerged)
	}
	names := m.adapterNames()
	for i, name := range names {
		if err := m.adapters[name].Merge(); err != nil {
			var errs []error
			for _, done := range names[:i] {
				errs = append(errs, m.adapters[done].Unmerge())
			}
			return errors.Join(fmt.Errorf("bert: merging %s: %w", name, err), errors.Join(errs...))
		}
	}
	m.merged = true
	return nil
}

// Unmerge restores the base weights that Merge changed. It fails with peft.ErrMerged if the model
// is not merged.
func (m *Model) Unmerge() error {
	if !m.merged {
		return fmt.Errorf("%w: bert: not merged", peft.ErrMerged)
	}
	var errs []error
	for _, name := range m.adapterNames() {
		if err := m.adapters[name].Unmerge(); err != nil {
			errs = append(errs, fmt.Errorf("bert: unmerging %s: %w", name, err))
		}
	}
	m.merged = false
	return errors.Join(errs...)
}

// adapterNames returns the adapted modules in model order.
func (m *Model) adapterNames() []string {
	var names []string
	for _, mod := range m.modules {
		if _, ok := m.adapters[mod.name]; ok {
			names = append(names, mod.name)
		}
	}
	return names
}
