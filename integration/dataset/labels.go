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

// CheckLabels reports the first example whose label is not in [0, numLabels), for callers that
// build a model with numLabels outputs. The error names the example's file and line, or its
// 0-based index when it was not read from a file.
func CheckLabels(examples []Example, numLabels int) error {
	for i, e := range examples {
		if e.Label >= 0 && e.Label < numLabels {
			continue
		}
		where := fmt.Sprintf("example %d", i)
		if e.File != "" {
			where = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		return fmt.Errorf("%w: %s: label %d but the model has %d labels", ErrLabelRange, where, e.Label, numLabels)
	}
	return nil
}
