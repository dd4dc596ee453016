package bert_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// markedSequences draws n sequences [CLS] w… [SEP] of 4 to 12 random word ids; half of them, label
// 1, carry the marker id somewhere: a task only attention across positions can solve.
func markedSequences(n int, seed uint64) []train.Example {
	const cls, sep, marker, vocabFrom, vocabTo = 1, 2, 7, 10, 400
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([]train.Example, n)
	for i := range out {
		words := make([]int, 4+rng.IntN(9))
		for j := range words {
			words[j] = vocabFrom + rng.IntN(vocabTo-vocabFrom)
		}
		label := i % 2
		if label == 1 {
			words[rng.IntN(len(words))] = marker
		}
		out[i] = train.Example{IDs: append(append([]int{cls}, words...), sep), Label: label}
	}
	return out
}

// TestDebertaLearnsSeparableTask trains each method on query_proj and value_proj of the tiny
// random DeBERTa-v3 (the head trained in full) for a few epochs and checks held-out accuracy.
func TestDebertaLearnsSeparableTask(t *testing.T) {
	ck, err := checkpoint.LoadDir("testdata/tiny-deberta-v3")
	require.NoError(t, err)
	trainSet, evalSet := markedSequences(256, 1), markedSequences(128, 2)
	for _, c := range []struct {
		name   string
		config peft.Config
		lr     float64
	}{
		{"hra", hra.Config{R: 4}, 2e-2},
		{"lora", lora.Config{R: 4, Alpha: 8}, 1e-2},
		{"oft", oft.Config{BlockSize: 8}, 1e-2},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := bert.New(ck, bert.Options{Adapter: c.config, Targets: peft.Targets{Modules: []string{"query_proj", "value_proj"}},
				NumLabels: 2, Seed: 3})
			require.NoError(t, err)
			before, err := train.Evaluate(m, evalSet, 64)
			require.NoError(t, err)
			_, err = train.Fit(context.Background(), m, trainSet, train.Options{Epochs: 4, BatchSize: 16, LR: c.lr, Seed: 1})
			require.NoError(t, err)
			after, err := train.Evaluate(m, evalSet, 64)
			require.NoError(t, err)
			t.Logf("held-out accuracy %.3f → %.3f, loss %.3f → %.3f", before.Accuracy, after.Accuracy, before.Loss, after.Loss)
			assert.GreaterOrEqual(t, after.Accuracy, 0.85)
		})
	}
}
