package peft

import (
	"maps"
	"slices"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// TrainableParams returns the trainable parameters of adapters (such as Wrap returns), in the
// order of their names: what an optimiser updates.
func TrainableParams(adapters map[string]Adapter) []*nn.Param {
	var params []*nn.Param
	for _, name := range slices.Sorted(maps.Keys(adapters)) {
		params = append(params, adapters[name].TrainableParams()...)
	}
	return params
}

// Regularization returns the sum of the adapters' penalties (Adapter.Regularization, in the order
// of their names) as a scalar node, and a zero scalar when none has one, so that
// ag.Add(loss, peft.Regularization(adapters)) always works. The zero has the element type of the
// adapters' layers, float32 when there are none.
func Regularization(adapters map[string]Adapter) mat.Tensor {
	var sum, zero mat.Tensor = nil, mat.Scalar[float32](0)
	for _, name := range slices.Sorted(maps.Keys(adapters)) {
		a := adapters[name]
		zero = a.BaseLayer().W.Value().(mat.Matrix).NewScalar(0)
		switch reg := a.Regularization(); {
		case reg == nil:
		case sum == nil:
			sum = reg
		default:
			sum = ag.Add(sum, reg)
		}
	}
	if sum == nil {
		return zero
	}
	return sum
}
