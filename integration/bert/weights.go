package bert

import (
	"math/rand/v2"
	"slices"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
)

// weights makes spago parameters of element type T from a validated checkpoint.
type weights[T float.DType] struct {
	ck *checkpoint.Checkpoint
}

// param returns the named tensor as a parameter: a matrix for 2-D tensors, a column vector for
// 1-D ones (the shape of spago's linear biases). It copies the values, once.
func (w weights[T]) param(name string) *nn.Param {
	t := w.ck.Tensors[name]
	rows, cols := t.Shape[0], 1
	if len(t.Shape) == 2 {
		cols = t.Shape[1]
	}
	data := make([]T, len(t.Data))
	for i, v := range t.Data {
		data[i] = T(v)
	}
	return newParam(rows, cols, data)
}

// newParam wraps data as a rows×cols parameter without the copy nn.NewParam makes.
func newParam[T float.DType](rows, cols int, data []T) *nn.Param {
	return &nn.Param{Matrix: mat.NewDense[T](mat.WithShape(rows, cols), mat.WithBacking(data))}
}

func (w weights[T]) linear(prefix string) *linear.Model {
	return &linear.Model{W: w.param(prefix + ".weight"), B: w.param(prefix + ".bias")}
}

func (w weights[T]) layerNorm(prefix string) LayerNorm {
	return LayerNorm{Weight: w.param(prefix + ".weight"), Bias: w.param(prefix + ".bias")}
}

// linearOrNew returns the checkpoint's out×in linear layer named prefix, or a new one with
// weights drawn from N(0, 0.02²) and zero bias when the checkpoint has none of that shape.
func (w weights[T]) linearOrNew(prefix string, out, in int, rng *rand.Rand) *linear.Model {
	if t := w.ck.Tensors[prefix+".weight"]; t != nil && slices.Equal(t.Shape, []int{out, in}) && w.ck.Tensors[prefix+".bias"] != nil {
		return w.linear(prefix)
	}
	data := make([]T, out*in)
	for i := range data {
		data[i] = T(rng.NormFloat64() * initializerRange)
	}
	return &linear.Model{W: newParam(out, in, data), B: newParam(out, 1, make([]T, out))}
}
