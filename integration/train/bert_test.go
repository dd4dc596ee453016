package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyBERT is the checkpoint package's fixture: hidden 32, 2 layers, 4 heads, a vocabulary of
// 98 tokens with [CLS] = 2 and [SEP] = 3.
const tinyBERT = "../checkpoint/testdata/tiny-bert"

const (
	clsID = 2
	sepID = 3
)

// keywordTask returns n sequences "[CLS] … [SEP]" of tiny-bert token ids: 1–2 keywords of the
// label's set (ids 10–12 for label 0, 20–22 for label 1) shuffled among 2–4 filler ids (30–97).
// Labels alternate.
func keywordTask(n int, seed uint64) []train.Example {
	rng := rand.New(rand.NewPCG(seed, 0))
	examples := make([]train.Example, n)
	for i := range examples {
		label := i % 2
		var words []int
		for range 1 + rng.IntN(2) {
			words = append(words, 10+10*label+rng.IntN(3))
		}
		for range 2 + rng.IntN(3) {
			words = append(words, 30+rng.IntN(68))
		}
		rng.Shuffle(len(words), func(a, b int) { words[a], words[b] = words[b], words[a] })
		examples[i] = train.Example{IDs: append(append([]int{clsID}, words...), sepID), Label: label}
	}
	return examples
}

func newTinyHRA(t testing.TB, seed uint64) *bert.Model {
	t.Helper()
	ck, err := checkpoint.LoadDir(tinyBERT)
	require.NoError(t, err, "the tiny BERT fixture of integration/checkpoint is needed")
	m, err := bert.New(ck, bert.Options{
		Adapter:   hra.Config{R: 4, Lambda: 1e-4},
		Targets:   peft.DefaultBertTargets,
		NumLabels: 2,
		Seed:      seed,
	})
	require.NoError(t, err)
	return m
}

// baseParams returns every weight of the checkpoint in m, adapters and head excluded.
func baseParams(m *bert.Model) []*nn.Param {
	e := m.Embeddings
	ps := []*nn.Param{e.Word, e.Position, e.TokenType, e.Norm.Weight, e.Norm.Bias}
	for _, l := range m.Layers {
		for _, lin := range []*struct{ W, B *nn.Param }{
			{l.Query.W, l.Query.B}, {l.Key.W, l.Key.B}, {l.Value.W, l.Value.B},
			{l.AttentionOutput.W, l.AttentionOutput.B}, {l.Intermediate.W, l.Intermediate.B},
			{l.Output.W, l.Output.B},
		} {
			ps = append(ps, lin.W, lin.B)
		}
		ps = append(ps, l.AttentionNorm.Weight, l.AttentionNorm.Bias, l.OutputNorm.Weight, l.OutputNorm.Bias)
	}
	return ps
}

func snapshot(ps []*nn.Param) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(p.Value().Data().F32())
	}
	return out
}

// validateAdapters is the Check hook: every adapter must stay usable.
func validateAdapters(m *bert.Model) func() error {
	return func() error {
		for name, a := range m.Adapters() {
			if err := a.Validate(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
}

// TestFineTuneTinyBERTWithHRA fine-tunes HRA adapters on query and value plus the head of the tiny
// BERT on a keyword task, with two workers: the loss falls, the accuracy rises, and only adapter
// and head parameters change: the checkpoint's weights stay bit-identical.
func TestFineTuneTinyBERTWithHRA(t *testing.T) {
	m := newTinyHRA(t, 1)
	trainSet, evalSet := keywordTask(256, 1), keywordTask(96, 2)
	base := baseParams(m)
	trainable := m.TrainableParams()
	for _, p := range base {
		require.NotContains(t, trainable, p, "a checkpoint weight is trainable")
	}
	baseBefore, trainableBefore := snapshot(base), snapshot(trainable)
	before, err := train.Evaluate(m, evalSet, 32)
	require.NoError(t, err)

	h, err := train.Fit(context.Background(), m, trainSet, train.Options{
		Steps: 240, BatchSize: 16, LR: 1e-2, WarmupRatio: 0.1, WeightDecay: 0.01, Seed: 3, Workers: 2,
		EvalSet: evalSet, EvalEvery: 80, Check: validateAdapters(m),
	})
	require.NoError(t, err)
	require.Len(t, h.Steps, 240)
	first, last := meanLoss(h.Steps[:20]), meanLoss(h.Steps[220:])
	after := h.Evals[len(h.Evals)-1]
	t.Logf("training loss %.4f → %.4f; eval loss %.4f → %.4f, accuracy %.3f → %.3f; %.0f examples/s",
		first, last, before.Loss, after.Loss, before.Accuracy, after.Accuracy, h.Steps[239].ExamplesPerSec)
	assert.Less(t, last, first/3, "training loss fell")
	assert.Less(t, after.Loss, before.Loss/3, "evaluation loss fell")
	assert.GreaterOrEqual(t, after.Accuracy, 0.9)
	assert.Positive(t, h.Steps[0].Penalty, "HRA's regulariser is part of the loss")

	assert.Equal(t, baseBefore, snapshot(base), "checkpoint weights changed")
	for i, p := range snapshot(trainable) {
		assert.NotEqual(t, trainableBefore[i], p, "trainable parameter %d (shape %v) did not change", i, trainable[i].Shape())
	}
}

// TestFineTuneTinyBERTWorkersAgree: repeated runs with the same seed and workers agree bit for
// bit; runs with one and two workers agree to rounding, since a split batch sums its gradients in
// another order.
func TestFineTuneTinyBERTWorkersAgree(t *testing.T) {
	run := func(workers int) ([]float64, []float32) { return fitTrace(t, newTinyHRA(t, 5), workers) }
	l1, p1 := run(1)
	for _, workers := range []int{1, 2} {
		l, p := run(workers)
		if workers == 1 {
			assert.Equal(t, l1, l, "repeated run: loss curve")
			assert.Equal(t, p1, p, "repeated run: parameters")
			continue
		}
		again, pAgain := run(workers)
		assert.Equal(t, l, again, "workers %d, repeated: loss curve", workers)
		assert.Equal(t, p, pAgain, "workers %d, repeated: parameters", workers)
		assert.InDeltaSlice(t, l1, l, 1e-5, "workers %d: loss curve", workers)
		for i := range p1 {
			assert.InDelta(t, p1[i], p[i], 1e-5, "workers %d: parameter value %d", workers, i)
		}
	}
}

func meanLoss(steps []train.StepInfo) float64 {
	s := 0.0
	for _, st := range steps {
		s += st.Loss
	}
	return s / float64(len(steps))
}

func TestEncode(t *testing.T) {
	tok, err := tokenizer.FromDir(tinyBERT)
	require.NoError(t, err)
	got := train.Encode(tok, []dataset.Example{{Text: "The movie was good", Label: 1}, {Text: "bad", Label: 0}}, 4)
	assert.Equal(t, []train.Example{
		{IDs: []int{clsID, 5, 8, sepID}, TypeIDs: []int{0, 0, 0, 0}, Label: 1},
		{IDs: []int{clsID, 21, sepID}, TypeIDs: []int{0, 0, 0}, Label: 0},
	}, got)
}

// BenchmarkFitWorkers measures training steps (batch 32) on the tiny BERT and, if present, the
// shared sst-bert-tiny (hidden 128), with HRA on query and value, for 1 and 2 workers.
func BenchmarkFitWorkers(b *testing.B) {
	for _, c := range []struct{ name, dir string }{{"tiny-bert", tinyBERT}, {"sst-bert-tiny", "../../../shared/models/sst-bert-tiny"}} {
		ck, err := checkpoint.LoadDir(c.dir)
		if err != nil {
			b.Logf("%s not available: %v", c.name, err)
			continue
		}
		examples := keywordTask(32, 1)
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", c.name, workers), func(b *testing.B) {
				m, err := bert.New(ck, bert.Options{Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets, NumLabels: 2, Seed: 1})
				require.NoError(b, err)
				for b.Loop() {
					_, err := train.Fit(context.Background(), m, examples, train.Options{Steps: 1, BatchSize: 32, LR: 1e-3, Workers: workers})
					require.NoError(b, err)
				}
				b.ReportMetric(float64(b.N*len(examples))/b.Elapsed().Seconds(), "examples/s")
			})
		}
	}
}

// TestFineTuneTinyBERTWithDropout trains with hidden dropout on two workers, whose Logits calls
// run concurrently (run with -race).
func TestFineTuneTinyBERTWithDropout(t *testing.T) {
	ck, err := checkpoint.LoadDir(tinyBERT)
	require.NoError(t, err)
	m, err := bert.New(ck, bert.Options{
		Adapter: hra.Config{R: 4}, Targets: peft.DefaultBertTargets, NumLabels: 2, Seed: 1, HiddenDropout: 0.1,
	})
	require.NoError(t, err)
	h, err := train.Fit(context.Background(), m, keywordTask(64, 1), train.Options{
		Steps: 8, BatchSize: 16, LR: 1e-2, Workers: 2, EvalSet: keywordTask(16, 2),
	})
	require.NoError(t, err)
	assert.Len(t, h.Steps, 8)
	assert.Len(t, h.Evals, 2)
}
