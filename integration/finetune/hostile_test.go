package finetune

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyBert is a tiny checkpoint (2 layers, hidden 32) with a 3-class classifier.
const tinyBert = "../checkpoint/testdata/tiny-bert"

// savedAdapter trains one step of HRA r=2 on model (the default base if empty) and saves it.
func savedAdapter(t *testing.T, model string) string {
	t.Helper()
	data := writeTSV(t, t.TempDir(), "d.tsv", "sentence\tlabel", "a fine film\t0", "a bad film\t1", "so so\t2")
	res, err := Run(context.Background(), Job{Model: model, Data: data, DevData: data, Adapter: hra.Config{R: 2}, Steps: 1, BatchSize: 2})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, res.SaveAdapter(dir))
	return dir
}

// An adapter records its base so that it loads from any directory, refuses another base, and
// refuses values that would predict NaN.
func TestLoadAdapterHostile(t *testing.T) {
	t.Chdir(filepath.Dir(tinyBert)) // a relative --model, as a user types it
	adapter := savedAdapter(t, "./"+filepath.Base(tinyBert))
	_, _, meta, err := peft.LoadAdapterConfig(adapter)
	require.NoError(t, err)
	abs, err := filepath.Abs(filepath.Base(tinyBert))
	require.NoError(t, err)
	assert.Equal(t, abs, meta.BaseModel, "a local base is recorded as an absolute path")
	metadata, err := peft.LoadAdapterMetadata(adapter)
	require.NoError(t, err)
	assert.Equal(t, "./"+filepath.Base(tinyBert), metadata[MetaBaseModel])
	assert.Len(t, metadata[MetaBaseFingerprint], 32)

	t.Chdir(t.TempDir())
	_, _, base, err := LoadAdapter(context.Background(), adapter, "", checkpoint.DownloadOptions{})
	require.NoError(t, err, "from another working directory")
	assert.Equal(t, abs, base)

	t.Run("another base", func(t *testing.T) {
		_, _, _, err := LoadAdapter(context.Background(), savedAdapter(t, ""), abs, checkpoint.DownloadOptions{})
		assert.ErrorIs(t, err, ErrBaseMismatch)
		assert.ErrorContains(t, err, "was trained on "+DefaultBaseName)
	})
	t.Run("recorded base gone", func(t *testing.T) {
		moved := filepath.Join(t.TempDir(), "adapter")
		require.NoError(t, os.CopyFS(moved, os.DirFS(adapter)))
		config := filepath.Join(moved, peft.AdapterConfigFile)
		b, err := os.ReadFile(config)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(config, bytes.ReplaceAll(b, []byte(abs), []byte("/no/such/bert")), 0o644))
		_, _, _, err = LoadAdapter(context.Background(), moved, "", checkpoint.DownloadOptions{})
		assert.ErrorIs(t, err, ErrRecordedBase)
		assert.ErrorIs(t, err, checkpoint.ErrNotFound)
		assert.ErrorContains(t, err, "/no/such/bert (base_model_name_or_path of "+config+")")
	})
	t.Run("all-zero reflection vector", func(t *testing.T) {
		require.NoError(t, adaptertest.ZeroColumn(filepath.Join(adapter, peft.AdapterWeightsFile), "layer.1.attention.self.value.hra_u", 1))
		_, _, _, err := LoadAdapter(context.Background(), adapter, "", checkpoint.DownloadOptions{})
		assert.ErrorIs(t, err, peft.ErrInvalidParams)
		assert.ErrorContains(t, err, "module encoder.layer.1.attention.self.value: peft: invalid adapter parameters: hra: column 1 of U has norm 0")
	})
}

// A model that is a file, or a local path that does not exist, is reported as such; a name that
// may be a hub repository is tried there after the local directory.
func TestLoadBaseMessages(t *testing.T) {
	srv, _ := hubServer(t, "nobody/nothing", t.TempDir())
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	file := filepath.Join(tinyBert, "config.json")
	tests := []struct{ model, want string }{
		{file, "model " + file + " is a file; want a Hugging Face model directory"},
		{"./models/bert-tiny", "model directory ./models/bert-tiny does not exist"},
		{"/no/such/dir", "model directory /no/such/dir does not exist"},
		{"models/bert-tiny", "model models/bert-tiny: no such local directory, and the hub download failed: "},
	}
	for _, tt := range tests {
		_, _, err := LoadBase(context.Background(), tt.model, checkpoint.DownloadOptions{})
		assert.ErrorIs(t, err, checkpoint.ErrNotFound, tt.model)
		assert.ErrorContains(t, err, tt.want)
	}
}
