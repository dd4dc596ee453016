package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadFamily loads the tiny checkpoints of every architecture (written by transformers, see
// testdata/make_tiny_family.py): the config is read under the architecture's own keys, the base
// model's prefix is stripped, the head keeps its names, and WriteDir writes it back as it was.
func TestLoadFamily(t *testing.T) {
	cases := []struct {
		modelType                 string
		embedding, types, layerNo int
		tensors                   []string
	}{
		{"bert", 32, 2, 1, []string{"encoder.layer.1.attention.self.query.weight", "pooler.dense.weight", "classifier.weight"}},
		{"roberta", 32, 1, 1, []string{"encoder.layer.1.output.LayerNorm.bias", "classifier.dense.weight", "classifier.out_proj.bias"}},
		{"xlm-roberta", 32, 1, 1, []string{"embeddings.position_embeddings.weight", "classifier.out_proj.weight"}},
		{"distilbert", 32, 0, 1, []string{"transformer.layer.1.attention.q_lin.weight", "transformer.layer.0.sa_layer_norm.weight",
			"transformer.layer.0.ffn.lin2.bias", "pre_classifier.weight", "classifier.bias"}},
		{"electra", 16, 2, 1, []string{"embeddings_project.weight", "encoder.layer.0.intermediate.dense.weight", "classifier.dense.bias"}},
	}
	for _, c := range cases {
		t.Run(c.modelType, func(t *testing.T) {
			dir := filepath.Join("testdata", "tiny-"+c.modelType)
			ck, err := LoadDir(dir)
			require.NoError(t, err)
			cfg := ck.Config
			assert.Equal(t, c.modelType, cfg.Architecture().ModelType)
			assert.Equal(t, []int{32, 2, 4, 64}, []int{cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize})
			assert.Equal(t, c.embedding, cfg.EmbeddingWidth())
			assert.Equal(t, c.types, cfg.TypeVocabSize)
			assert.Equal(t, 1e-12, cfg.LayerNormEps)
			assert.True(t, ck.HasClassifier() && ck.HasHeadDense())
			for _, name := range c.tensors {
				assert.Contains(t, ck.Tensors, name)
			}
			for name := range ck.Tensors {
				if i, ok := ck.layerIndex(name); ok {
					assert.Less(t, i, 2, name)
				}
			}

			out := filepath.Join(t.TempDir(), "out")
			require.NoError(t, WriteDir(out, ck))
			again, err := LoadDir(out)
			require.NoError(t, err)
			assert.Equal(t, len(ck.Tensors), len(again.Tensors))
			for name, tensor := range ck.Tensors {
				assert.True(t, tensor.Equal(again.Tensors[name]), name)
			}
			assert.Equal(t, cfg.HiddenSize, again.Config.HiddenSize)
			assert.Equal(t, cfg.IntermediateSize, again.Config.IntermediateSize)
			assert.Equal(t, cfg.Architecture(), again.Config.Architecture())
		})
	}
}

// TestFamilyConfigErrors checks that a size is named by the architecture's own key.
func TestFamilyConfigErrors(t *testing.T) {
	_, err := ParseConfig([]byte(`{"model_type": "distilbert", "dim": 30, "n_heads": 4}`))
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "dim 30 is not divisible by n_heads 4")
	_, err = ParseConfig([]byte(`{"model_type": "roberta", "pad_token_id": 1, "max_position_embeddings": 2}`))
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "pad_token_id 1 leaves no positions")
	cfg, err := ParseConfig([]byte(`{"architectures": ["RobertaForSequenceClassification"], "pad_token_id": 1, "type_vocab_size": 1}`))
	require.NoError(t, err)
	assert.Equal(t, "roberta", cfg.Architecture().ModelType)
}

// TestDownloadFamily fetches a RoBERTa repository, which has tokenizer.json and no vocab.txt:
// config, tokenizer.json, tokenizer_config.json and the weights, then nothing from the cache.
func TestDownloadFamily(t *testing.T) {
	src := filepath.Join("testdata", "tiny-roberta")
	hub := &fakeHub{repo: "tiny/roberta", revision: "main", files: map[string][]byte{}}
	for _, name := range []string{ConfigFile, TokenizerJSONFile, TokenizerConfigFile, SafetensorsFile} {
		data, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		hub.files[name] = data
	}
	opts := DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir()}
	dir, err := Download(context.Background(), "tiny/roberta", opts)
	require.NoError(t, err)
	assert.Equal(t, 4, hub.count(), "%v", hub.requests)
	assert.FileExists(t, filepath.Join(dir, TokenizerJSONFile))
	ck, err := LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, "roberta", ck.Config.Architecture().ModelType)
	_, err = Download(context.Background(), "tiny/roberta", opts)
	require.NoError(t, err)
	assert.Equal(t, 4, hub.count(), "the second download comes from the cache")

	delete(hub.files, TokenizerJSONFile)
	_, err = Download(context.Background(), "tiny/roberta", DownloadOptions{Endpoint: opts.Endpoint, CacheDir: t.TempDir()})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), TokenizerJSONFile)
}
