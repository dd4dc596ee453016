package train

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// torchFixtures is testdata/torch_fixtures.json, written by testdata/make_fixtures.py.
type torchFixtures struct {
	CrossEntropy []struct {
		Name       string
		Rows, Cols int
		Logits     []float64
		Labels     []int
		Loss       float64
		Grad       []float64
	} `json:"cross_entropy"`
	AdamW []struct {
		Name        string
		LR          float64 `json:"lr"`
		WeightDecay float64 `json:"weight_decay"`
		Warmup      int
		Total       int
		MaxNorm     float64 `json:"max_norm"`
		Shapes      [][]int
		Initial     [][]float64
		Grads       [][][]float64 // per step, per parameter; nil for no gradient
		Norms, LRs  []float64
		Values      [][][]float64 // per step, per parameter, after the step
	} `json:"adamw"`
}

func readFixtures(t *testing.T) torchFixtures {
	t.Helper()
	raw, err := os.ReadFile("testdata/torch_fixtures.json")
	require.NoError(t, err)
	var f torchFixtures
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NotEmpty(t, f.CrossEntropy)
	require.NotEmpty(t, f.AdamW)
	return f
}

func TestCrossEntropyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	for _, tt := range []struct{ rows, cols int }{{1, 2}, {4, 3}, {7, 5}} {
		logits := gradcheck.Random(rng, tt.rows, tt.cols)
		labels := make([]int, tt.rows)
		for i := range labels {
			labels[i] = rng.IntN(tt.cols)
		}
		// Projection of a scaled loss, so the upstream gradient is not 1.
		gradcheck.Check(t, func() mat.Tensor {
			return ag.ProdScalar(softmaxCrossEntropy(logits, labels, 0.3), mat.Scalar(1.7))
		}, 1e-6, logits)
	}
}

func TestCrossEntropyMatchesPyTorch(t *testing.T) {
	for _, c := range readFixtures(t).CrossEntropy {
		t.Run(c.Name, func(t *testing.T) {
			t.Run("float64", func(t *testing.T) {
				logits := mat.NewDense[float64](mat.WithShape(c.Rows, c.Cols), mat.WithBacking(c.Logits), mat.WithGrad(true))
				loss := softmaxCrossEntropy(logits, c.Labels, 1/float64(c.Rows))
				require.NoError(t, ag.Backward(loss))
				assert.InDelta(t, c.Loss, loss.Value().Item().F64(), 1e-12*max(1, c.Loss))
				assert.InDeltaSlice(t, c.Grad, op.Values[float64](logits.Grad()), 1e-12)
			})
			t.Run("float32", func(t *testing.T) {
				x := make([]float32, len(c.Logits))
				for i, v := range c.Logits {
					x[i] = float32(v)
				}
				logits := mat.NewDense[float32](mat.WithShape(c.Rows, c.Cols), mat.WithBacking(x), mat.WithGrad(true))
				loss := softmaxCrossEntropy(logits, c.Labels, 1/float64(c.Rows))
				require.NoError(t, ag.Backward(loss))
				got := loss.Value().Item().F64()
				assert.False(t, math.IsNaN(got) || math.IsInf(got, 0))
				assert.InDelta(t, c.Loss, got, 1e-5*max(1, c.Loss))
				for i, g := range op.Values[float32](logits.Grad()) {
					assert.InDelta(t, c.Grad[i], float64(g), 1e-6)
				}
			})
		})
	}
}
