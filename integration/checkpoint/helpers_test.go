package checkpoint

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	tinyDir = "testdata/tiny-bert"
	// sharedDir is the project's shared read-only model (see the guide).
	sharedDir = "../../../shared/models/sst-bert-tiny"
)

// requireShared skips the test when the shared checkpoint is absent.
func requireShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("shared checkpoint %s absent (%v): skipping", sharedDir, err)
	}
}

// copyFiles copies the named files from src into dst.
func copyFiles(t *testing.T, dst, src string, names ...string) {
	t.Helper()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// safetensorsBytes assembles a safetensors file from a raw JSON header and
// a data section, so tests can write headers that lie.
func safetensorsBytes(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

// writeTemp writes data to a new file in a test directory and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// requireError checks that err wraps sentinel and mentions every fragment.
func requireError(t *testing.T, err, sentinel error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %q does not wrap %v", err, sentinel)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

// requireSameTensors checks that both maps hold the same names with
// bit-identical tensors.
func requireSameTensors(t *testing.T, want, got map[string]*Tensor) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("tensor %q missing", name)
		case !w.Equal(g):
			t.Errorf("tensor %q differs: shape %v vs %v", name, g.Shape, w.Shape)
		}
	}
}
