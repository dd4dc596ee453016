package train

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEntities checks chunking and scores against seqeval's documented behaviour (its README's
// f1_score example and get_entities' lenient IOB2 rules).
func TestEntities(t *testing.T) {
	for _, tt := range []struct {
		tags []string
		want []entity
	}{
		{[]string{"B-PER", "I-PER", "O", "B-LOC"}, []entity{{"PER", 0, 1}, {"LOC", 3, 3}}},
		{[]string{"I-PER", "I-PER", "O"}, []entity{{"PER", 0, 1}}},
		{[]string{"B-PER", "I-LOC", "I-LOC"}, []entity{{"PER", 0, 0}, {"LOC", 1, 2}}},
		{[]string{"B-PER", "B-PER", "O", "O"}, []entity{{"PER", 0, 0}, {"PER", 1, 1}}},
		{[]string{"O", "O"}, nil},
		{[]string{"S-ORG", "B-MISC", "E-MISC"}, []entity{{"ORG", 0, 0}, {"MISC", 1, 2}}},
	} {
		assert.Equal(t, tt.want, entities(tt.tags), "%v", tt.tags)
	}
	var c entityCounts
	c.add([]string{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, []string{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"})
	c.add([]string{"B-PER", "I-PER", "O"}, []string{"B-PER", "I-PER", "O"})
	p, r, f1 := c.scores()
	assert.InDelta(t, 0.5, f1, 1e-12, "seqeval README: f1_score = 0.50")
	assert.InDelta(t, 0.5, p, 1e-12)
	assert.InDelta(t, 0.5, r, 1e-12)
}

// TestTaskLossesMatchTransformers checks the losses against transformers' on its own logits
// (../bert/testdata/tasks.json): the token loss's mean over the tokens not labelled -100, and the
// regression MSE.
func TestTaskLossesMatchTransformers(t *testing.T) {
	raw, err := os.ReadFile("../bert/testdata/tasks.json")
	require.NoError(t, err)
	var f struct {
		Token struct {
			Labels [][]int
			Logits [][][]float64
			Loss   float64
		}
		Regression struct {
			Scores, Logits []float64
			Loss           float64
		}
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	var x []float64
	var labels []int
	n := 0
	for i, rows := range f.Token.Logits {
		for j, row := range rows {
			x = append(x, row...)
			labels = append(labels, f.Token.Labels[i][j])
			if f.Token.Labels[i][j] >= 0 {
				n++
			}
		}
	}
	logits := mat.NewDense[float64](mat.WithShape(len(labels), 3), mat.WithBacking(x))
	assert.InDelta(t, f.Token.Loss, softmaxCrossEntropy(logits, labels, 1/float64(n)).Value().Item().F64(), 1e-12)
	preds := mat.NewDense[float64](mat.WithShape(3, 1), mat.WithBacking(f.Regression.Logits))
	assert.InDelta(t, f.Regression.Loss, meanSquaredError(preds, f.Regression.Scores, 1.0/3).Value().Item().F64(), 1e-12)
}

// TestIgnoredRowsGradient checks the cross-entropy's gradient by finite differences with rows
// labelled -100, which get none.
func TestIgnoredRowsGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 0))
	logits := gradcheck.Random(rng, 5, 4)
	labels := []int{2, dataset.IgnoreTag, 0, dataset.IgnoreTag, 3}
	gradcheck.Check(t, func() mat.Tensor {
		return ag.ProdScalar(softmaxCrossEntropy(logits, labels, 1.0/3), mat.Scalar(1.3))
	}, 1e-6, logits)
	loss := softmaxCrossEntropy(logits, labels, 1)
	require.NoError(t, ag.Backward(loss))
	g := logits.Grad().Data().F64()
	assert.Equal(t, []float64{0, 0, 0, 0}, g[4:8], "an ignored row gets no gradient")
}

// TestFitTokens trains tiny-bert's token head (LoRA on query and value) to tag keyword ids: entity
// F1 and token accuracy rise, and the loss counts only tagged tokens.
func TestFitTokens(t *testing.T) {
	ck, err := checkpoint.LoadDir("../checkpoint/testdata/tiny-bert")
	require.NoError(t, err)
	model, err := bert.New(ck, bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: peft.Targets{Modules: []string{"query", "value"}, ModulesToSave: []string{"classifier"}},
		NumLabels: 3, TokenClassification: true, Seed: 1})
	require.NoError(t, err)
	tagNames := []string{"B-PER", "I-PER", "O"}
	rng := rand.New(rand.NewPCG(2, 0))
	// Ids 10–14 start a name, 15–19 continue it, 30–97 are other words; every second word piece
	// (an odd id after the first) is ignored, as a word's later pieces are.
	examples := make([]Example, 160)
	for i := range examples {
		ids, tags := []int{2}, []int{dataset.IgnoreTag}
		for len(ids) < 10 {
			switch rng.IntN(3) {
			case 0:
				ids, tags = append(ids, 10+rng.IntN(5), 15+rng.IntN(5)), append(tags, 0, 1)
			default:
				ids, tags = append(ids, 30+rng.IntN(68)), append(tags, 2)
			}
			if rng.IntN(4) == 0 {
				ids, tags = append(ids, 30+rng.IntN(68)), append(tags, dataset.IgnoreTag)
			}
		}
		examples[i] = Example{IDs: append(ids, 3), Tags: append(tags, dataset.IgnoreTag)}
	}
	h, err := Fit(context.Background(), model, examples[:120], Options{
		Epochs: 20, BatchSize: 8, LR: 2e-2, Workers: 2, EvalSet: examples[120:], TagNames: tagNames,
	})
	require.NoError(t, err)
	m := h.Evals[len(h.Evals)-1].Metrics
	assert.Greater(t, m.Accuracy, 0.9, "token accuracy")
	assert.Greater(t, m.EntityF1, 0.6)
	assert.Greater(t, m.Tokens, 40*6)
	again, err := EvaluateTokens(model, examples[120:], 5, tagNames)
	require.NoError(t, err)
	assert.InDelta(t, m.Loss, again.Loss, 1e-5)
	assert.Equal(t, m.EntityF1, again.EntityF1)

	_, err = Fit(context.Background(), model, append([]Example{{IDs: []int{2, 5, 3}, Tags: []int{-100, 7, -100}}}, examples[:3]...), Options{Steps: 1})
	assert.ErrorIs(t, err, dataset.ErrLabelRange, "a tag beyond the head")
	_, err = Fit(context.Background(), model, []Example{{IDs: []int{2, 5, 3}, Tags: []int{-100, 1}}}, Options{Steps: 1})
	assert.ErrorIs(t, err, ErrInvalidExample, "tags not one per token")
	_, err = Fit(context.Background(), model, []Example{{IDs: []int{2, 5, 3}, Tags: []int{-100, -5, -100}}}, Options{Steps: 1})
	assert.ErrorIs(t, err, dataset.ErrLabelRange, "a negative tag other than -100")
}
