package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --model with a hub name downloads the checkpoint (from a local test server standing in for the
// hub, through HF_ENDPOINT) into the user cache; predict then finds the base the adapter records
// there, and names the classes as the checkpoint's config does.
func TestHubModel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/test-org/tiny-bert/resolve/main/")
		if !ok || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(tinyBert, name))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	data := filepath.Join(dir, "data.tsv")
	require.NoError(t, os.WriteFile(data, []byte("sentence\tlabel\na fine film\t2\nan ok film\t1\na bad film\t0\na good film\t2\n"), 0o644))
	save := filepath.Join(dir, "adapter")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--model", "test-org/tiny-bert", "--data", data, "--dev", data,
		"--steps", "2", "--batch", "2", "--r", "2", "--save", save}, nil, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Contains(t, stderr.String(), "downloaded config.json")
	assert.Contains(t, stdout.String(), "base:      test-org/tiny-bert (2 layers, hidden 32")
	assert.Contains(t, stdout.String(), "3 labels")

	var pout, perr bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"predict", "--adapter-dir", save, "a fine film"}, nil, &pout, &perr), perr.String())
	assert.Regexp(t, `^(negative|neutral|positive)\t0\.\d{3}\ta fine film\n$`, pout.String())
	assert.NotContains(t, perr.String(), "downloaded", "predict finds the base in the cache")
}
