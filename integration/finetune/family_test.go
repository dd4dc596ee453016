package finetune

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each member of the BERT family trains end to end from its checkpoint directory on the default
// targets of its architecture, and its saved adapter reloads onto it with the same predictions.
func TestRunFamily(t *testing.T) {
	cases := []struct {
		modelType string
		job       Job
	}{
		{"roberta", Job{Adapter: hra.Config{R: 4}}},
		{"xlm-roberta", Job{Adapter: lora.Config{R: 4, Alpha: 8}}},
		{"distilbert", Job{Adapter: oft.Config{BlockSize: 8}}},
		{"electra", Job{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: ParseTargets("query,key,value")}},
		{"deberta-v3", Job{Adapter: hra.Config{R: 4}}},
	}
	for _, c := range cases {
		t.Run(c.modelType, func(t *testing.T) {
			dir := filepath.Join("../checkpoint/testdata", "tiny-"+c.modelType)
			if c.modelType == "deberta-v3" {
				dir = debertaDir(t)
			}
			job := c.job
			job.Model, job.Steps, job.BatchSize, job.TrainLimit, job.DevLimit, job.Seed, job.NumLabels = dir, 4, 8, 32, 16, 1, 2
			res, err := Run(context.Background(), job)
			require.NoError(t, err)
			assert.False(t, res.RandomBase)
			assert.NotEmpty(t, res.Model.Adapters())

			loaded, tok := reloadAdapter(t, res, dir)
			assertSamePredictions(t, res, loaded, tok, []string{"a warm and funny film", "dull, lifeless and far too long"})
		})
	}
}

// debertaDir returns a DeBERTa-v3 checkpoint directory as the hub has them: the tiny checkpoint
// of integration/bert and the SentencePiece model it was made with, its only tokenizer file.
func debertaDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join("../bert/testdata/tiny-deberta-v3", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	f, err := os.Open("../tokenizer/hfjson/testdata/spm.model.gz")
	require.NoError(t, err)
	defer f.Close()
	r, err := gzip.NewReader(f)
	require.NoError(t, err)
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spm.model"), data, 0o644))
	return dir
}

// TestRunFamilyTasks runs each member of the BERT family end to end through every task beyond
// single-sentence classification: sentence pairs (as its tokenizer joins them), regression on
// pairs, and token classification (CoNLL); each saved adapter reloads onto the base with the same
// predictions.
func TestRunFamilyTasks(t *testing.T) {
	data := t.TempDir()
	pairs, scores := []string{"sentence1\tsentence2\tlabel"}, []string{"sentence1\tsentence2\tscore"}
	words := []string{"warm", "funny", "dull", "film", "plot", "actors", "scene", "slow"}
	for i := range 24 {
		a, b := words[i%8]+" "+words[(i+3)%8], words[(i+5)%8]+" film"
		pairs = append(pairs, fmt.Sprintf("%s\t%s\t%d", a, b, i%2))
		scores = append(scores, fmt.Sprintf("%s\t%s\t%.1f", a, b, float64(i%6)))
	}
	files := map[string]string{
		"pairs":     writeTSV(t, data, "pairs.tsv", pairs...),
		TaskRegress: writeTSV(t, data, "scores.tsv", scores...),
		TaskTokens:  nerSample(t, data),
	}
	for _, modelType := range []string{"roberta", "xlm-roberta", "distilbert", "electra", "deberta-v3"} {
		for _, task := range []string{"pairs", TaskRegress, TaskTokens} {
			t.Run(modelType+"/"+task, func(t *testing.T) {
				dir := filepath.Join("../checkpoint/testdata", "tiny-"+modelType)
				if modelType == "deberta-v3" {
					dir = debertaDir(t)
				}
				job := Job{Model: dir, Data: files[task], DevFraction: 0.25, Task: task, Adapter: lora.Config{R: 4, Alpha: 8},
					Steps: 4, BatchSize: 8, Seed: 1}
				if task == "pairs" {
					job.Task = TaskClassify
					s, err := Prepare(context.Background(), job)
					require.NoError(t, err)
					ids, types := s.TrainSet[0].IDs, s.TrainSet[0].TypeIDs
					end := ids[len(ids)-1] // </s> or [SEP]
					double := false
					for i := range len(ids) - 1 {
						double = double || ids[i] == end && ids[i+1] == end
					}
					roberta := modelType == "roberta" || modelType == "xlm-roberta"
					assert.Equal(t, roberta, double, "RoBERTa joins a pair as <s> a </s></s> b </s>, BERT as [CLS] a [SEP] b [SEP]: %v", ids)
					if modelType == "electra" { // DistilBERT's tokenizer gives types too, which its model ignores
						assert.Contains(t, types, 1, "token types of the second sentence")
					}
				}
				res, err := Run(context.Background(), job)
				require.NoError(t, err)
				assert.False(t, res.RandomBase)
				assert.Equal(t, task == TaskTokens, res.Model.TokenClassification())
				if task == TaskTokens {
					assert.Equal(t, []string{"B-LOC", "B-PER", "I-PER", "O"}, res.LabelNames, "the export's id2label")
				}
				loaded, tok := reloadAdapter(t, res, dir)
				assertExportNames(t, loaded, res.LabelNames)
				if task == TaskTokens {
					sentences := [][]string{{"marco", "saw", "oslo"}, {"a", "film", "by", "lena"}}
					want, err := PredictTokens(res.Model, res.Tokenizer, sentences, res.LabelNames, 0)
					require.NoError(t, err)
					got, err := PredictTokens(loaded, tok, sentences, res.LabelNames, 0)
					require.NoError(t, err)
					assert.Equal(t, want, got)
					return
				}
				assertSamePredictions(t, res, loaded, tok, []string{"warm funny", "dull slow plot"})
			})
		}
	}
}

// reloadAdapter saves the run's adapter and loads it onto the base checkpoint dir.
func reloadAdapter(t *testing.T, res *Result, dir string) (*bert.Model, tokenizer.Encoder) {
	t.Helper()
	adapter := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, res.SaveAdapter(adapter))
	loaded, tok, _, err := LoadAdapter(context.Background(), adapter, dir, checkpoint.DownloadOptions{})
	require.NoError(t, err)
	return loaded, tok
}

// assertExportNames checks the merged export of a model loaded from an adapter: config.json
// names the architecture's class for its task and the class names the adapter records.
func assertExportNames(t *testing.T, m *bert.Model, names []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "merged")
	require.NoError(t, m.ExportMerged(dir))
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	class := ck.Config.Architecture().Class(true)
	if m.TokenClassification() {
		class = ck.Config.Architecture().TokenClass()
	}
	assert.Equal(t, []string{class}, ck.Config.Architectures)
	if names == nil {
		return
	}
	want := map[int]string{}
	for i, name := range names {
		want[i] = name
	}
	assert.Equal(t, want, ck.Config.ID2Label)
}

// assertSamePredictions checks that the loaded model predicts the texts as the run's model did
// (class probabilities, or scores for regression).
func assertSamePredictions(t *testing.T, res *Result, loaded *bert.Model, tok tokenizer.Encoder, texts []string) {
	t.Helper()
	want, err := Predict(res.Model, res.Tokenizer, texts, 0)
	require.NoError(t, err)
	got, err := Predict(loaded, tok, texts, 0)
	require.NoError(t, err)
	for i := range texts {
		assert.InDelta(t, want[i].Score, got[i].Score, 1e-5, texts[i])
		assert.InDeltaSlice(t, want[i].Probs, got[i].Probs, 1e-6, texts[i])
	}
}
