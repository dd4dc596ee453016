package train

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/internal/op"
)

// bagModel is a Classifier for tests: the logits of a sequence are W·mean(E[ids]) + B, with an
// optional penalty λ·‖W‖². Each parameter takes part in one operator per graph.
type bagModel[T float.DType] struct {
	E, W, B  *nn.Param
	Unused   *nn.Param // a trainable parameter that never receives a gradient
	Lambda   float64
	training atomic.Bool
	calls    atomic.Int64 // Logits calls in training mode
}

func newBagModel[T float.DType](vocab, dim, labels int, seed uint64) *bagModel[T] {
	rng := rand.New(rand.NewPCG(seed, 1))
	param := func(shape ...int) *nn.Param {
		m := mat.NewDense[T](mat.WithShape(shape...))
		for i, d := 0, op.Values[T](m); i < len(d); i++ {
			d[i] = T(rng.NormFloat64() * 0.1)
		}
		return nn.NewParam(m)
	}
	return &bagModel[T]{E: param(vocab, dim), W: param(labels, dim), B: param(labels), Unused: param(3, 2)}
}

func (m *bagModel[T]) Logits(b bert.Batch) (mat.Tensor, error) {
	if m.training.Load() {
		m.calls.Add(1)
	}
	vocab, _ := op.Dims(m.E)
	for _, seq := range b.IDs {
		for _, id := range seq {
			if id >= vocab {
				return nil, fmt.Errorf("%w: %d", errUnknownToken, id)
			}
		}
	}
	return op.Linear(ag.NewOperator(&bagMean[T]{e: m.E, ids: b.IDs}).Run(), m.W, m.B), nil
}

func (m *bagModel[T]) TrainableParams() []*nn.Param { return []*nn.Param{m.E, m.W, m.B, m.Unused} }

func (m *bagModel[T]) Regularization() mat.Tensor {
	if m.Lambda == 0 {
		return nil
	}
	return ag.ProdScalar(ag.Dot(m.W, m.W), mat.Scalar(T(m.Lambda)))
}

func (m *bagModel[T]) SetTraining(on bool) { m.training.Store(on) }

// errUnknownToken is the error of bagModel.Logits for a token outside its vocabulary.
var errUnknownToken = errors.New("token outside the vocabulary")

// bagMean maps each sequence of ids to the mean of its rows of e.
type bagMean[T float.DType] struct {
	e   mat.Tensor
	ids [][]int
}

func (f *bagMean[T]) Operands() []mat.Tensor { return []mat.Tensor{f.e} }

func (f *bagMean[T]) Forward() (mat.Tensor, error) {
	_, dim := op.Dims(f.e)
	e := op.Values[T](f.e)
	y := make([]T, len(f.ids)*dim)
	for i, seq := range f.ids {
		row := y[i*dim : (i+1)*dim]
		for _, id := range seq {
			for j := range row {
				row[j] += e[id*dim+j]
			}
		}
		for j := range row {
			row[j] /= T(len(seq))
		}
	}
	return op.NewDense(len(f.ids), dim, y), nil
}

func (f *bagMean[T]) Backward(gy mat.Tensor) error {
	vocab, dim := op.Dims(f.e)
	g := op.Values[T](gy)
	ge := make([]T, vocab*dim)
	for i, seq := range f.ids {
		for _, id := range seq {
			for j := range dim {
				ge[id*dim+j] += g[i*dim+j] / T(len(seq))
			}
		}
	}
	f.e.AccGrad(op.NewDense(vocab, dim, ge))
	return nil
}

// separableTask returns n examples over a vocabulary of 2·signal+noise tokens: each sequence mixes
// 1–3 tokens of its class's signal set with 2–5 noise tokens, so a bag of words separates the
// classes. Labels alternate, so any prefix is balanced.
func separableTask(n, signal, noise int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 2))
	examples := make([]Example, n)
	for i := range examples {
		label := i % 2
		var ids []int
		for range 1 + rng.IntN(3) {
			ids = append(ids, label*signal+rng.IntN(signal))
		}
		for range 2 + rng.IntN(4) {
			ids = append(ids, 2*signal+rng.IntN(noise))
		}
		rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
		examples[i] = Example{IDs: ids, Label: label}
	}
	return examples
}
