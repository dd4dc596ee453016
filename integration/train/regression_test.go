package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMeanSquaredErrorGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 0))
	for _, rows := range []int{1, 4, 9} {
		x := gradcheck.Random(rng, rows, 1)
		targets := make([]float64, rows)
		for i := range targets {
			targets[i] = 5 * rng.Float64()
		}
		gradcheck.Check(t, func() mat.Tensor {
			return ag.ProdScalar(meanSquaredError(x, targets, 0.3), mat.Scalar(1.7))
		}, 1e-6, x)
	}
}

// TestMeanSquaredErrorValue checks the loss against torch.nn.MSELoss's definition, the mean of
// the squared differences.
func TestMeanSquaredErrorValue(t *testing.T) {
	x := mat.NewDense[float32](mat.WithShape(3, 1), mat.WithBacking([]float32{1, 2.5, -1}), mat.WithGrad(true))
	loss := meanSquaredError(x, []float64{0, 3, 1}, 1.0/3)
	require.NoError(t, ag.Backward(loss))
	assert.InDelta(t, (1+0.25+4)/3.0, loss.Value().Item().F64(), 1e-6)
	assert.InDeltaSlice(t, []float64{2.0 / 3, -1.0 / 3, -4.0 / 3}, x.Grad().Data().F64(), 1e-6)
}

// TestCorrelations checks Pearson and Spearman against values of torch.corrcoef (of the values,
// and of their ranks with ties averaged, scipy.stats.spearmanr's definition).
func TestCorrelations(t *testing.T) {
	for _, tt := range []struct {
		name              string
		x, y              []float64
		pearson, spearman float64
	}{
		{"no ties", []float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.7999999999999999, 0.7999999999999999},
		{"a tie", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}, 0.9486832980505138, 0.9486832980505139},
		{"ties in both", []float64{0.5, 0.1, 3.2, 2.2, 2.2, 7}, []float64{1, 1, 2, 0, 3, 2.5}, 0.509674845713492, 0.49999999999999994},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.pearson, Pearson(tt.x, tt.y), 1e-12)
			assert.InDelta(t, tt.spearman, Spearman(tt.x, tt.y), 1e-12)
		})
	}
	for _, bad := range [][2][]float64{{{1}, {2}}, {{1, 1, 1}, {1, 2, 3}}, {{1, 2}, {1, 2, 3}}} {
		assert.True(t, math.IsNaN(Pearson(bad[0], bad[1])) && math.IsNaN(Spearman(bad[0], bad[1])), "%v", bad)
	}
}

// TestFitRegression trains a one-output model on scores that a bag of words predicts: the loss
// is the mean squared error, and the dev correlations come out high.
func TestFitRegression(t *testing.T) {
	examples := separableTask(240, 4, 20, 7)
	for i := range examples {
		examples[i].Score = 1 + 3*float64(examples[i].Label)
		examples[i].Label = 0
	}
	model := newBagModel[float32](28, 8, 1, 3)
	h, err := Fit(context.Background(), model, examples[:200], Options{
		Epochs: 8, BatchSize: 16, LR: 0.05, Workers: 2, EvalSet: examples[200:],
	})
	require.NoError(t, err)
	first, last := h.Steps[0].Loss, h.Steps[len(h.Steps)-1].Loss
	m := h.Evals[len(h.Evals)-1].Metrics
	assert.Less(t, last, first/4, "training MSE")
	assert.Greater(t, m.Pearson, 0.9)
	assert.Greater(t, m.Spearman, 0.8)
	assert.Zero(t, m.Accuracy)
	again, err := Evaluate(model, examples[200:], 7)
	require.NoError(t, err)
	assert.InDelta(t, m.Loss, again.Loss, 1e-6, "MSE does not depend on the batching")
	assert.InDelta(t, m.Pearson, again.Pearson, 1e-9)
}
