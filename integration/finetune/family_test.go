package finetune

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
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

			adapter := filepath.Join(t.TempDir(), "adapter")
			require.NoError(t, res.SaveAdapter(adapter))
			loaded, tok, _, err := LoadAdapter(context.Background(), adapter, dir, checkpoint.DownloadOptions{})
			require.NoError(t, err)
			texts := []string{"a warm and funny film", "dull, lifeless and far too long"}
			want, err := Predict(res.Model, res.Tokenizer, texts, 0)
			require.NoError(t, err)
			got, err := Predict(loaded, tok, texts, 0)
			require.NoError(t, err)
			for i := range texts {
				assert.InDeltaSlice(t, want[i].Probs, got[i].Probs, 1e-6, texts[i])
			}
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
