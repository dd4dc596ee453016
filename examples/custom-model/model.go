package main

import (
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
)

// Sizes of the MLP and its data.
const (
	nIn, nHidden, nOut = 8, 32, 4
	examples           = 64
)

// MLP is a user's own spago model: two linear layers with a tanh between them. The layers sit in
// fields of interface type, so that peft.Wrap can put adapters in their place; a field of type
// *linear.Model could not hold one.
type MLP struct {
	nn.Module
	Hidden nn.StandardModel
	Output nn.StandardModel
}

// newMLP returns an MLP with weights drawn from rng.
func newMLP(rng *rand.Rand) *MLP {
	return &MLP{Hidden: newLinear(rng, nIn, nHidden), Output: newLinear(rng, nHidden, nOut)}
}

func newLinear(rng *rand.Rand, in, out int) *linear.Model {
	l := linear.New[float32](in, out)
	bound := 1 / math.Sqrt(float64(in))
	for _, p := range []*nn.Param{l.W, l.B} {
		d := make([]float32, p.Size())
		for i := range d {
			d[i] = float32((rng.Float64()*2 - 1) * bound)
		}
		p.SetData(mat.NewDense[float32](mat.WithShape(p.Shape()...), mat.WithBacking(d)).Data())
	}
	return l
}

// Forward maps each input, an nIn×1 column vector as spago has them, to an nOut×1 vector.
func (m *MLP) Forward(xs ...mat.Tensor) []mat.Tensor {
	hs := m.Hidden.Forward(xs...)
	for i, h := range hs {
		hs[i] = ag.Tanh(h)
	}
	return m.Output.Forward(hs...)
}

// task is a regression data set: inputs and targets as column vectors.
type task struct {
	xs, ys []mat.Tensor
}

// makeTasks returns the pre-training task, targets of a random teacher MLP, and the fine-tuning
// task, the same teacher on inputs first reflected by two Householder reflections: a change of
// the first layer's input space, as HRA, LoRA and OFT can learn.
func makeTasks(rng *rand.Rand) (pre, fine task) {
	teacher := newMLP(rng)
	u1, u2 := randomVector(rng, nIn), randomVector(rng, nIn)
	for range examples {
		x := randomVector(rng, nIn)
		pre.xs = append(pre.xs, column(x))
		pre.ys = append(pre.ys, teacher.Forward(column(x))[0])
		reflected := reflect(reflect(x, u2), u1)
		fine.xs = append(fine.xs, column(x))
		fine.ys = append(fine.ys, teacher.Forward(column(reflected))[0])
	}
	return pre, fine
}

func randomVector(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// reflect returns (I − 2·u·uᵀ/‖u‖²)·x.
func reflect(x, u []float32) []float32 {
	var dot, norm float32
	for i := range x {
		dot += x[i] * u[i]
		norm += u[i] * u[i]
	}
	out := make([]float32, len(x))
	for i := range x {
		out[i] = x[i] - 2*dot/norm*u[i]
	}
	return out
}

func column(v []float32) mat.Tensor {
	return mat.NewDense[float32](mat.WithShape(len(v), 1), mat.WithBacking(v))
}

// loss returns the mean squared error of model on t, plus the adapters' penalty (a zero scalar
// for methods without one), as a node to run backward from.
func loss(model *MLP, t task, adapters map[string]peft.Adapter) mat.Tensor {
	return ag.Add(losses.MSESeq(model.Forward(t.xs...), t.ys, true), peft.Regularization(adapters))
}

// fit trains params of model on t for steps full-batch steps of AdamW, this library's optimiser,
// which unlike spago v1.1.0's has finished updating when Step returns. It returns the losses
// before the first step and after the last.
func fit(model *MLP, t task, adapters map[string]peft.Adapter, params []*nn.Param, lr float64, steps int) (first, last float64, err error) {
	opt, err := train.NewAdamW(params, lr, 0)
	if err != nil {
		return 0, 0, err
	}
	first = evaluate(model, t)
	for range steps {
		if err := ag.Backward(loss(model, t, adapters)); err != nil {
			return 0, 0, err
		}
		if _, err := opt.Step(); err != nil {
			return 0, 0, err
		}
	}
	return first, evaluate(model, t), nil
}

// evaluate returns the mean squared error of model on t.
func evaluate(model *MLP, t task) float64 {
	return losses.MSESeq(model.Forward(t.xs...), t.ys, true).Value().Item().F64()
}

// outputs returns model's outputs on xs, all values in order.
func outputs(model *MLP, xs []mat.Tensor) []float32 {
	var out []float32
	for _, y := range model.Forward(xs...) {
		out = append(out, y.Value().Data().F32()...)
	}
	return out
}
