package dataset

import (
	"errors"
	"fmt"
)

// ErrLabelRange reports an example whose label the model cannot predict.
var ErrLabelRange = errors.New("dataset: label out of range")

// NumLabels returns the number of classes the examples need: one more than the largest label,
// or 0 for no examples.
func NumLabels(examples []Example) int {
	n := 0
	for _, e := range examples {
		n = max(n, e.Label+1)
	}
	return n
}

// CheckLabels reports the first example whose label is not in [0, numLabels), naming its
// 0-based index, for callers that build a model with numLabels outputs.
func CheckLabels(examples []Example, numLabels int) error {
	for i, e := range examples {
		if e.Label < 0 || e.Label >= numLabels {
			return fmt.Errorf("%w: example %d: label %d but the model has %d labels", ErrLabelRange, i, e.Label, numLabels)
		}
	}
	return nil
}
