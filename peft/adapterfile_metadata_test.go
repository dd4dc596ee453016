package peft_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Meta.FileMetadata goes to the safetensors header, never to adapter_config.json (PEFT warns on
// unknown keys there), and cannot replace "format".
func TestAdapterFileMetadata(t *testing.T) {
	c := fileCases[0]
	dir := t.TempDir()
	meta := peft.Meta{BaseModel: "bert-base-uncased", FileMetadata: map[string]string{"spago_peft.base_fingerprint": "abc123", "format": "np"}}
	require.NoError(t, peft.SaveAdapter(dir, c.cfg, fileTargets, newAdapters(t, c.cfg, 1), nil, meta))
	got, err := peft.LoadAdapterMetadata(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt", "spago_peft.base_fingerprint": "abc123"}, got)
	config, err := os.ReadFile(filepath.Join(dir, peft.AdapterConfigFile))
	require.NoError(t, err)
	assert.NotContains(t, string(config), "abc123")

	_, err = peft.LoadAdapterMetadata(t.TempDir())
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(filepath.Join(dir, peft.AdapterWeightsFile), []byte("garbage"), 0o644))
	_, err = peft.LoadAdapterMetadata(dir)
	assert.ErrorIs(t, err, peft.ErrCorrupt)
}
