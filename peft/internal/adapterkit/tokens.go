// Package adapterkit holds what the method packages (peft/hra, peft/lora, peft/oft) share to
// build adapters: argument checks, the record of which layers are wrapped, freezing, and the
// column-vector Forward on top of the row-stacked one. It is internal: users build adapters
// through peft.Config and never call it.
package adapterkit

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// ForwardTokens implements peft.Adapter.Forward on top of a row-stacked forward: it stacks the column
// vectors xs as rows, runs forwardRows once, and returns each output row as a column vector.
func ForwardTokens(forwardRows func(x mat.Tensor) mat.Tensor, xs []mat.Tensor) []mat.Tensor {
	if len(xs) == 0 {
		return nil
	}
	y := forwardRows(ag.Stack(xs...))
	out := y.Value().Shape()[1]
	ys := make([]mat.Tensor, len(xs))
	for i := range xs {
		ys[i] = ag.Reshape(ag.RowView(y, i), out, 1)
	}
	return ys
}
