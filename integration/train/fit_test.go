package train

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sizes of the bag-of-embeddings task: 2·signal + noise tokens.
const (
	signal = 6
	noise  = 10
	vocab  = 2*signal + noise
)

func TestFitLearnsSeparableTask(t *testing.T) {
	trainSet := separableTask(256, signal, noise, 1)
	evalSet := separableTask(64, signal, noise, 2)
	m := newBagModel[float32](vocab, 8, 2, 1)
	m.Lambda = 1e-3
	before, err := Evaluate(m, evalSet, 16)
	require.NoError(t, err)
	var stepsSeen, evalsSeen int
	h, err := Fit(context.Background(), m, trainSet, Options{
		Steps: 300, BatchSize: 16, LR: 5e-2, WarmupRatio: 0.1, WeightDecay: 0.01, Seed: 7, Workers: 2,
		EvalSet: evalSet, EvalEvery: 100,
		OnStep: func(StepInfo) { stepsSeen++ },
		OnEval: func(EvalInfo) { evalsSeen++ },
	})
	require.NoError(t, err)
	require.Len(t, h.Steps, 300)
	assert.Equal(t, 300, stepsSeen)
	assert.Equal(t, []int{100, 200, 300}, evalSteps(h))
	assert.Equal(t, 3, evalsSeen)

	first, last := meanLoss(h.Steps[:20]), meanLoss(h.Steps[280:])
	t.Logf("loss %.4f → %.4f; eval accuracy %.3f → %.3f", first, last, before.Accuracy, h.Evals[2].Accuracy)
	assert.Less(t, last, first/4, "training loss fell")
	assert.Greater(t, h.Evals[2].Accuracy, 0.95)
	assert.Less(t, h.Evals[2].Loss, before.Loss/4)
	assert.Equal(t, 64, h.Evals[2].Examples)
	for _, s := range h.Steps {
		assert.Positive(t, s.Penalty)
		assert.Positive(t, s.ExamplesPerSec)
	}
	// 256 examples in batches of 16 is 16 steps per epoch: step 300 falls in epoch 19.
	assert.Equal(t, 19, h.Steps[299].Epoch)
	assert.Equal(t, 0.0, h.Steps[0].LR, "the first warm-up step has learning rate 0, as in transformers")
	assert.InDelta(t, 5e-2, h.Steps[30].LR, 1e-12, "peak after 30 warm-up steps")
	assert.True(t, m.training.Load(), "Fit leaves the model in training mode")
	assert.Equal(t, []float64{0, 0, 0, 0, 0, 0}, unusedDelta(m), "a parameter without gradients is never updated")
}

func unusedDelta[T float.DType](m *bagModel[T]) []float64 {
	fresh := newBagModel[T](vocab, 8, 2, 1)
	d := make([]float64, m.Unused.Size())
	for i, v := range op.Values[T](m.Unused) {
		d[i] = float64(v - op.Values[T](fresh.Unused)[i])
	}
	return d
}

func meanLoss(steps []StepInfo) float64 {
	s := 0.0
	for _, st := range steps {
		s += st.Loss
	}
	return s / float64(len(steps))
}

func evalSteps(h History) []int {
	var steps []int
	for _, e := range h.Evals {
		steps = append(steps, e.Step)
	}
	return steps
}

func TestFitEvaluationSchedule(t *testing.T) {
	trainSet := separableTask(20, signal, noise, 1)
	tests := []struct {
		name string
		opts Options
		want []int
	}{
		{"end of each epoch", Options{Epochs: 3, BatchSize: 8}, []int{3, 6, 9}},
		{"every 4 steps and at the end", Options{Epochs: 3, BatchSize: 8, EvalEvery: 4}, []int{4, 8, 9}},
		{"steps override epochs", Options{Steps: 5, BatchSize: 8}, []int{3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.EvalSet = trainSet[:4]
			h, err := Fit(context.Background(), newBagModel[float64](vocab, 4, 2, 1), trainSet, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, evalSteps(h))
		})
	}
}

// TestFitReproducible: the same seed gives the same loss curve and parameters bit for bit, with
// one worker and with two (the bag model uses each parameter once per graph); another seed does not.
func TestFitReproducible(t *testing.T) {
	trainSet := separableTask(64, signal, noise, 3)
	run := func(seed uint64, workers int) ([]float64, []float32) {
		m := newBagModel[float32](vocab, 8, 2, 1)
		m.Lambda = 1e-3
		h, err := Fit(context.Background(), m, trainSet, Options{
			Epochs: 2, BatchSize: 8, LR: 1e-2, WarmupRatio: 0.2, WeightDecay: 0.1, Seed: seed, Workers: workers,
		})
		require.NoError(t, err)
		losses := make([]float64, len(h.Steps))
		for i, s := range h.Steps {
			losses[i] = s.Loss
		}
		return losses, append(op.Values[float32](m.E), op.Values[float32](m.W)...)
	}
	for _, workers := range []int{1, 2} {
		l1, p1 := run(5, workers)
		l2, p2 := run(5, workers)
		assert.Equal(t, l1, l2, "workers %d: loss curves differ", workers)
		assert.Equal(t, p1, p2, "workers %d: parameters differ", workers)
		l3, _ := run(6, workers)
		assert.NotEqual(t, l1, l3, "workers %d: another seed gave the same curve", workers)
	}
}

// TestWorkersGiveSameGradients: splitting a batch across goroutines changes neither the loss nor
// the gradients beyond rounding. Run with -race: the workers backpropagate into shared parameters.
func TestWorkersGiveSameGradients(t *testing.T) {
	examples := separableTask(13, signal, noise, 4) // odd size: unequal sub-batches
	idx := []int{12, 0, 5, 3, 7, 1, 9, 11, 2, 4, 6, 8, 10}
	grads := func(workers int) (float64, [][]float32) {
		m := newBagModel[float32](vocab, 8, 2, 1)
		m.Lambda = 0.1
		tr := &trainer{model: m, opts: Options{Workers: workers, MaxGradNorm: -1}, params: m.TrainableParams(), opt: newAdamW(m.TrainableParams(), 0)}
		loss, numLabels, err := tr.backward(examples, idx)
		require.NoError(t, err)
		require.Equal(t, 2, numLabels)
		var gs [][]float32
		for _, p := range tr.params[:3] {
			require.True(t, p.HasGrad())
			gs = append(gs, append([]float32(nil), op.Values[float32](p.Grad())...))
		}
		return loss, gs
	}
	loss1, g1 := grads(1)
	for _, workers := range []int{2, 3, 13, 64} {
		loss, g := grads(workers)
		assert.InDelta(t, loss1, loss, 1e-6, "workers %d: loss", workers)
		for i := range g1 {
			for j := range g1[i] {
				assert.InDelta(t, g1[i][j], g[i][j], 1e-6, "workers %d: param %d element %d", workers, i, j)
			}
		}
	}
}

func TestFitStopsOnNonFiniteLoss(t *testing.T) {
	m := newBagModel[float64](vocab, 4, 2, 1)
	h, err := Fit(context.Background(), m, separableTask(32, signal, noise, 1), Options{
		Steps: 10, BatchSize: 4, Workers: 1,
		OnStep: func(s StepInfo) {
			if s.Step == 3 {
				op.Values[float64](m.W)[0] = math.NaN() // as a diverging update would
			}
		},
	})
	require.ErrorIs(t, err, ErrNonFinite)
	assert.Contains(t, err.Error(), "step 4: ")
	assert.Contains(t, err.Error(), "loss is NaN")
	assert.Len(t, h.Steps, 3)
	for _, p := range m.TrainableParams() {
		assert.False(t, p.HasGrad(), "gradients are zeroed after a failed step")
	}
}

func TestFitStopsWhenCheckFails(t *testing.T) {
	errBroken := errors.New("adapter broken")
	calls := 0
	h, err := Fit(context.Background(), newBagModel[float64](vocab, 4, 2, 1), separableTask(32, signal, noise, 1), Options{
		Steps: 10, BatchSize: 4,
		Check: func() error {
			calls++
			if calls == 2 {
				return errBroken
			}
			return nil
		},
	})
	require.ErrorIs(t, err, errBroken)
	assert.Contains(t, err.Error(), "step 2: ")
	assert.Len(t, h.Steps, 1)
}

func TestFitCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := Fit(ctx, newBagModel[float64](vocab, 4, 2, 1), separableTask(32, signal, noise, 1), Options{
		Steps: 100, BatchSize: 4,
		OnStep: func(s StepInfo) {
			if s.Step == 5 {
				cancel()
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "before step 6")
	assert.Len(t, h.Steps, 5)
}

func TestFitErrors(t *testing.T) {
	good := separableTask(8, signal, noise, 1)
	tests := []struct {
		name     string
		examples []Example
		opts     Options
		model    Classifier
		is       error
		msg      string
	}{
		{"negative batch size", good, Options{BatchSize: -1}, nil, ErrInvalidOptions, "BatchSize is -1"},
		{"NaN learning rate", good, Options{LR: math.NaN()}, nil, ErrInvalidOptions, "LR is NaN"},
		{"warm-up ratio above 1", good, Options{WarmupRatio: 1.5}, nil, ErrInvalidOptions, "WarmupRatio is 1.5"},
		{"no examples", nil, Options{}, nil, ErrInvalidExample, "no training examples"},
		{"empty sequence", append([]Example{{Label: 1}}, good...), Options{}, nil, ErrInvalidExample, "training example 0: no token IDs"},
		{"type IDs", []Example{{IDs: []int{1, 2}, TypeIDs: []int{0}}}, Options{}, nil, ErrInvalidExample, "1 type IDs for 2 tokens"},
		{"negative label", []Example{{IDs: []int{1}, Label: -1}}, Options{}, nil, ErrInvalidExample, "label -1 is negative"},
		{"label out of range in the batch", []Example{{IDs: []int{1}, Label: 5}}, Options{}, nil, dataset.ErrLabelRange, "training example 0: label 5 but the model has 2 labels"},
		{"label out of range later", append(good[:4:4], Example{IDs: []int{1}, Label: 2}), Options{BatchSize: 2, Seed: 1}, nil, dataset.ErrLabelRange, "training example 4: label 2 but the model has 2 labels"},
		{"evaluation label out of range", good, Options{EvalSet: []Example{{IDs: []int{1}, Label: 3}}}, nil, dataset.ErrLabelRange, "evaluation example 0: label 3"},
		{"logits of the wrong shape", good, Options{Workers: 1}, wrongShape{newBagModel[float64](vocab, 4, 2, 1)}, ErrModel, "train: step 1: model: logits of shape [2 1] for 8 examples"},
		{"model error", []Example{{IDs: []int{1}}, {IDs: []int{vocab}}}, Options{Workers: 1}, nil, errUnknownToken, "train: step 1: training examples [1 0]: token outside the vocabulary: 22"},
		{"no parameters", good, Options{}, noParams{newBagModel[float64](vocab, 4, 2, 1)}, ErrModel, "no trainable parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := tt.model
			if model == nil {
				model = newBagModel[float64](vocab, 4, 2, 1)
			}
			_, err := Fit(context.Background(), model, tt.examples, tt.opts)
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// wrongShape returns one logit per label for the whole batch.
type wrongShape struct{ *bagModel[float64] }

func (m wrongShape) Logits(bert.Batch) (mat.Tensor, error) {
	return mat.NewDense[float64](mat.WithShape(2)), nil
}

type noParams struct{ *bagModel[float64] }

func (noParams) TrainableParams() []*nn.Param { return nil }

func TestEvaluate(t *testing.T) {
	// Logits set by hand: E is the identity on 2 tokens, W scales, B is 0.
	m := newBagModel[float64](2, 2, 2, 1)
	copy(op.Values[float64](m.E), []float64{1, 0, 0, 1})
	copy(op.Values[float64](m.W), []float64{2, 0, 0, 2})
	copy(op.Values[float64](m.B), []float64{0, 0})
	examples := []Example{
		{IDs: []int{0}, Label: 0},    // logits (2, 0): right
		{IDs: []int{1}, Label: 0},    // (0, 2): wrong
		{IDs: []int{0, 1}, Label: 1}, // (1, 1): a tie goes to the first label: wrong
	}
	m.SetTraining(true)
	got, err := Evaluate(m, examples, 2)
	require.NoError(t, err)
	right, wrong, tie := math.Log(1+math.Exp(-2)), math.Log(1+math.Exp(2)), math.Log(2)
	assert.InDelta(t, (right+wrong+tie)/3, got.Loss, 1e-12)
	assert.InDelta(t, 1.0/3, got.Accuracy, 1e-15)
	assert.Equal(t, 3, got.Examples)
	assert.False(t, m.training.Load(), "Evaluate switches to evaluation mode")
	assert.Zero(t, m.calls.Load(), "no Logits call in training mode")

	_, err = Evaluate(m, examples, 0)
	assert.ErrorIs(t, err, ErrInvalidOptions)
	_, err = Evaluate(m, nil, 2)
	assert.ErrorIs(t, err, ErrInvalidExample)
	_, err = Evaluate(m, []Example{{IDs: []int{0}, Label: 4}}, 2)
	assert.ErrorIs(t, err, dataset.ErrLabelRange)
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 3, o.Epochs)
	assert.Equal(t, 8, o.BatchSize)
	assert.Equal(t, 5e-5, o.LR)
	assert.Equal(t, 1.0, o.MaxGradNorm)
	assert.Positive(t, o.Workers)
	o, err = Options{MaxGradNorm: -1}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, -1.0, o.MaxGradNorm, "negative turns clipping off")
	assert.True(t, strings.HasPrefix(ErrInvalidOptions.Error(), "train: "))
}
