package bert_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
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

// keywordExamples returns n sequences "first … last" of token ids: 1–2 keywords of the label's
// set (ids 10–12 for label 0, 20–22 for label 1) shuffled among 2–4 filler ids (30–vocab). Labels
// alternate.
func keywordExamples(n int, first, last, vocab int, seed uint64) []train.Example {
	rng := rand.New(rand.NewPCG(seed, 0))
	examples := make([]train.Example, n)
	for i := range examples {
		label := i % 2
		var words []int
		for range 1 + rng.IntN(2) {
			words = append(words, 10+10*label+rng.IntN(3))
		}
		for range 2 + rng.IntN(3) {
			words = append(words, 30+rng.IntN(vocab-30))
		}
		rng.Shuffle(len(words), func(a, b int) { words[a], words[b] = words[b], words[a] })
		examples[i] = train.Example{IDs: append(append([]int{first}, words...), last), Label: label}
	}
	return examples
}

// TestFamilyLearnsKeywordTask fine-tunes an adapter (a different method per architecture) on the
// default targets of each tiny family checkpoint, with a new two-label head, on a keyword task:
// the loss falls and the held-out accuracy reaches 0.9.
func TestFamilyLearnsKeywordTask(t *testing.T) {
	cases := []struct {
		modelType   string
		first, last int // <s> </s> or [CLS] [SEP]
		adapter     peft.Config
	}{
		{"roberta", 0, 2, hra.Config{R: 4}},
		{"xlm-roberta", 0, 2, lora.Config{R: 4, Alpha: 8}},
		{"distilbert", 2, 3, oft.Config{BlockSize: 8}},
		{"electra", 2, 3, lora.Config{R: 4, Alpha: 8}},
	}
	for _, c := range cases {
		t.Run(c.modelType, func(t *testing.T) {
			ck, err := checkpoint.LoadDir(filepath.Join("../checkpoint/testdata", "tiny-"+c.modelType))
			require.NoError(t, err)
			m, err := bert.New(ck, bert.Options{Adapter: c.adapter, NumLabels: 2, Seed: 1})
			require.NoError(t, err)
			vocab := ck.Config.VocabSize
			trainSet, evalSet := keywordExamples(256, c.first, c.last, vocab, 1), keywordExamples(64, c.first, c.last, vocab, 2)
			before, err := train.Evaluate(m, evalSet, 32)
			require.NoError(t, err)
			h, err := train.Fit(context.Background(), m, trainSet, train.Options{
				Steps: 300, BatchSize: 16, LR: 1e-2, WarmupRatio: 0.1, Seed: 3, Workers: 2, EvalSet: evalSet,
			})
			require.NoError(t, err)
			after := h.Evals[len(h.Evals)-1]
			first, last := meanLoss(h.Steps[:20]), meanLoss(h.Steps[len(h.Steps)-20:])
			t.Logf("training loss %.4f → %.4f; eval loss %.4f → %.4f, accuracy %.3f → %.3f",
				first, last, before.Loss, after.Loss, before.Accuracy, after.Accuracy)
			assert.Less(t, last, first/3, "training loss fell")
			assert.GreaterOrEqual(t, after.Accuracy, 0.85)
		})
	}
}

func meanLoss(steps []train.StepInfo) float64 {
	s := 0.0
	for _, st := range steps {
		s += st.Loss
	}
	return s / float64(len(steps))
}
