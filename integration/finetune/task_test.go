package finetune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRegressSaveLoad trains a one-output head on the sample's labels as scores: the model is a
// regression model, its dev metrics are the correlations, and the saved adapter predicts the same
// scores once reloaded.
func TestRegressSaveLoad(t *testing.T) {
	res, err := Run(context.Background(), Job{Task: TaskRegress, Adapter: lora.Config{R: 4, Alpha: 8}, Steps: 8, BatchSize: 8, DevLimit: 40, Seed: 2})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Model.NumLabels())
	assert.False(t, math.IsNaN(res.Dev.Pearson) || math.IsNaN(res.Dev.Spearman), "%+v", res.Dev)
	assert.Zero(t, res.Dev.Accuracy)
	dir := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, res.SaveAdapter(dir))
	loaded, tok, _, err := LoadAdapter(context.Background(), dir, "", checkpoint.DownloadOptions{})
	require.NoError(t, err)
	texts := []string{"a warm and funny film", "dull"}
	want, err := Predict(res.Model, res.Tokenizer, texts, 0)
	require.NoError(t, err)
	got, err := Predict(loaded, tok, texts, 0)
	require.NoError(t, err)
	for i := range texts {
		assert.Nil(t, got[i].Probs)
		assert.InDelta(t, want[i].Score, got[i].Score, 1e-5)
	}
}

// TestPrepareTasks checks what Prepare makes of pair files, class names and scores.
func TestPrepareTasks(t *testing.T) {
	dir := t.TempDir()
	rte := writeTSV(t, dir, "rte.tsv", "index\tsentence1\tsentence2\tlabel",
		"0\ta fine film\ta good film\tentailment", "1\ta fine film\ta dull film\tnot_entailment", "2\tgood\tbad\tnot_entailment")
	sts := writeTSV(t, dir, "sts.tsv", "index\tsentence1\tsentence2\tscore", "0\ta fine film\ta good film\t4.2", "1\tgood\tbad\t0.4")
	s, err := Prepare(context.Background(), Job{Data: rte, DevData: rte, Columns: dataset.Columns{LabelNames: []string{"entailment", "not_entailment"}}})
	require.NoError(t, err)
	assert.Equal(t, 2, s.NumLabels)
	assert.Equal(t, []int{0, 0, 0, 0, 0, 1, 1, 1, 1}, s.TrainSet[0].TypeIDs, "[CLS] a fine film [SEP] a good film [SEP]")
	assert.Equal(t, 1, s.TrainSet[2].Label)

	s, err = Prepare(context.Background(), Job{Data: sts, DevData: sts, Task: TaskRegress})
	require.NoError(t, err)
	assert.Equal(t, 1, s.NumLabels)
	assert.Equal(t, 4.2, s.TrainSet[0].Score)

	for _, tt := range []struct {
		name string
		job  Job
		want string
	}{
		{"scores for classification", Job{Data: sts, DevData: sts}, `header "index\tsentence1\tsentence2\tscore" lacks a "sentence" or a "label" column`},
		{"names for regression", Job{Data: sts, DevData: sts, Task: TaskRegress, Columns: dataset.Columns{LabelNames: []string{"a"}}}, "class names for a regression task"},
		{"labels for regression", Job{Data: sts, DevData: sts, Task: TaskRegress, NumLabels: 3}, "3 labels for a regression task"},
		{"one class", Job{Data: rte, NumLabels: 1}, "one output is the regress task"},
		{"unknown task", Job{Task: "summarise"}, `unknown task "summarise"`},
		{"missing pair column", Job{Data: rte, DevData: rte, Columns: dataset.Columns{Text: "sentence1", Pair: "hypothesis"}}, `has no pair column "hypothesis"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare(context.Background(), tt.job)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestLearnsSTSB: a short LoRA run on part of the shared STS-B with the shared pretrained
// sst-bert-tiny gives dev scores clearly correlated with the gold similarities.
func TestLearnsSTSB(t *testing.T) {
	model, data := requireShared(t, "models/sst-bert-tiny"), requireShared(t, "data/stsb")
	res, err := Run(context.Background(), Job{
		Model: model, Data: data, Task: TaskRegress, TrainLimit: 1600, DevLimit: 800, MaxLen: 64,
		Adapter: lora.Config{R: 8, Alpha: 16}, Epochs: 2, BatchSize: 16, Seed: 1,
	})
	require.NoError(t, err)
	t.Logf("STS-B dev after %d steps: Pearson %.3f, Spearman %.3f, MSE %.3f", res.Steps, res.Dev.Pearson, res.Dev.Spearman, res.Dev.Loss)
	// 200 steps of a 2-layer model learn little of STS-B (fully fine-tuned for 200 steps: Go 0.20,
	// PyTorch 0.28), but clearly more than chance: on 800 pairs, chance's standard error is 0.035.
	assert.Greater(t, res.Dev.Pearson, 0.1)
	assert.Greater(t, res.Dev.Spearman, 0.1)
}

// TestLearnsPairs: a pair task that only token types make separable — SST-2 sentence pairs with
// the word "zebra" put in the first sentence (label 0) or in the second (label 1) — is learnt in a
// short run on sst-bert-tiny.
func TestLearnsPairs(t *testing.T) {
	res := pairsRun(t, Job{Adapter: lora.Config{R: 8, Alpha: 16}, Epochs: 8, LR: 3e-3, Targets: peft.Targets{Modules: []string{"query", "key", "value", "dense"}}})
	t.Logf("pairs dev accuracy after %d steps: %.3f (%d pairs)", res.Steps, res.Dev.Accuracy, res.Dev.Examples)
	assert.Greater(t, res.Dev.Accuracy, 0.75) // chance is 0.5 ± 0.06 on these 78 pairs
}

// pairsRun trains job on the pair task of TestLearnsPairs.
func pairsRun(t *testing.T, job Job) *Result {
	model, data := requireShared(t, "models/sst-bert-tiny"), requireShared(t, "data/sst2")
	rows, err := dataset.ReadTSV(filepath.Join(data, dataset.DevFile))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(4, 0))
	lines := []string{"sentence1\tsentence2\tlabel"}
	rows = slices.DeleteFunc(rows, func(r dataset.Example) bool { return len(strings.Fields(r.Text)) > 15 }) // none cut
	for i, r := range rows {
		pair := [2][]string{strings.Fields(r.Text), strings.Fields(rows[(i+7)%len(rows)].Text)}
		label := i % 2
		at := rng.IntN(len(pair[label]) + 1)
		pair[label] = slices.Insert(pair[label], at, "zebra")
		lines = append(lines, fmt.Sprintf("%s\t%s\t%d", strings.Join(pair[0], " "), strings.Join(pair[1], " "), label))
	}
	job.Model, job.Data, job.DevFraction, job.MaxLen, job.BatchSize, job.Seed = model, writeTSV(t, t.TempDir(), "pairs.tsv", lines...), 0.25, 64, 16, 1
	res, err := Run(context.Background(), job)
	require.NoError(t, err)
	return res
}
