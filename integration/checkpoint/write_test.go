package checkpoint

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteDirRoundTrip(t *testing.T) {
	ck, err := LoadDir(tinyDir)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "export")
	require.NoError(t, WriteDir(dir, ck, filepath.Join(tinyDir, VocabFile), filepath.Join(tinyDir, TokenizerConfigFile)))

	back, err := LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, ck.Config.NumLabels(), back.Config.NumLabels())
	assert.Equal(t, ck.Config.ID2Label, back.Config.ID2Label)
	assert.Equal(t, ck.Config.Label2ID, back.Config.Label2ID)
	assert.Equal(t, ck.Config.HiddenSize, back.Config.HiddenSize)
	assert.Equal(t, ck.Config.LayerNormEps, back.Config.LayerNormEps)
	require.Equal(t, len(ck.Tensors), len(back.Tensors))
	for name, want := range ck.Tensors {
		require.Contains(t, back.Tensors, name)
		assert.True(t, want.Equal(back.Tensors[name]), "%s bit for bit", name)
	}
	for _, name := range []string{VocabFile, TokenizerConfigFile} {
		want, _ := os.ReadFile(filepath.Join(tinyDir, name))
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}

	// Hugging Face names: "bert." everywhere but the classifier, as transformers saves
	// BertForSequenceClassification.
	raw, err := LoadSafetensors(filepath.Join(dir, SafetensorsFile))
	require.NoError(t, err)
	assert.Len(t, raw, len(ck.Tensors))
	header := readHeaderKeys(t, filepath.Join(dir, SafetensorsFile))
	assert.Contains(t, header, "bert.encoder.layer.0.attention.self.query.weight")
	assert.Contains(t, header, "classifier.weight")
	assert.Contains(t, header, "bert.pooler.dense.bias")

	var config map[string]any
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &config))
	assert.Equal(t, "bert", config["model_type"])
	assert.Equal(t, []any{"BertForSequenceClassification"}, config["architectures"])
}

// readHeaderKeys returns the tensor names of a safetensors file's header.
func readHeaderKeys(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	n := int(data[0]) | int(data[1])<<8 | int(data[2])<<16 | int(data[3])<<24
	var header map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data[8:8+n], &header))
	var keys []string
	for k := range header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestWriteDirNamesLabels(t *testing.T) {
	ck, err := LoadDir(tinyDir)
	require.NoError(t, err)
	ck.Config.ID2Label, ck.Config.Label2ID = nil, nil
	delete(ck.Tensors, "classifier.weight")
	delete(ck.Tensors, "classifier.bias")
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, ck))
	back, err := LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, map[int]string{0: "LABEL_0", 1: "LABEL_1"}, back.Config.ID2Label)
	assert.Equal(t, []string{"BertModel"}, back.Config.Architectures)
	assert.False(t, back.HasClassifier())
}

func TestWriteDirRejects(t *testing.T) {
	ck, err := LoadDir(tinyDir)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	assert.ErrorIs(t, WriteDir(dir, nil), ErrNotFound)

	broken := &Checkpoint{Config: ck.Config, Tensors: map[string]*Tensor{}}
	assert.ErrorIs(t, WriteDir(dir, broken), ErrNotFound, "missing tensors")
	_, err = os.Stat(dir)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "nothing written")

	require.NoError(t, WriteDir(dir, ck))
	before, err := os.ReadFile(filepath.Join(dir, SafetensorsFile))
	require.NoError(t, err)
	err = WriteDir(dir, ck, filepath.Join(t.TempDir(), "absent-vocab.txt"))
	require.ErrorIs(t, err, ErrNotFound)
	assert.True(t, strings.Contains(err.Error(), "absent-vocab.txt"))
	after, err := os.ReadFile(filepath.Join(dir, SafetensorsFile))
	require.NoError(t, err)
	assert.Equal(t, before, after, "a failed write leaves the previous files")
	_, err = os.Stat(filepath.Join(dir, "absent-vocab.txt"))
	assert.True(t, errors.Is(err, fs.ErrNotExist))
}

// TestWriteDirKeepsConfigFields checks that the written config.json keeps every field of the base
// config.json, those Config does not model included, with Config's values for its own fields.
func TestWriteDirKeepsConfigFields(t *testing.T) {
	base := map[string]any{}
	data, err := os.ReadFile(filepath.Join(tinyDir, ConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &base))
	base["problem_type"] = "single_label_classification"
	base["hidden_dropout_prob"] = 0.25
	base["num_labels"] = 3
	data, err = json.Marshal(base)
	require.NoError(t, err)
	cfg, err := ParseConfig(data)
	require.NoError(t, err)
	ck, err := LoadDir(tinyDir)
	require.NoError(t, err)
	ck.Config = cfg
	ck.Config.LayerNormEps = 1e-6

	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, ck))
	written := map[string]any{}
	data, err = os.ReadFile(filepath.Join(dir, ConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &written))
	for _, key := range []string{"hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range", "position_embedding_type",
		"problem_type", "classifier_dropout", "use_cache", "id2label"} {
		assert.Equal(t, base[key], written[key], key)
	}
	assert.Equal(t, 1e-6, written["layer_norm_eps"], "Config's value for its own fields")
	assert.NotContains(t, written, "num_labels", "id2label gives the number of labels")
	for key := range base {
		if key != "num_labels" {
			assert.Contains(t, written, key)
		}
	}
}
