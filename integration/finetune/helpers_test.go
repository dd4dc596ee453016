package finetune

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// sharedDir is the shared data and models directory (../shared from the repository root).
const sharedDir = "../../../shared"

// requireShared returns the path of rel under the shared directory, or skips the test.
func requireShared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s not found (the shared data directory is absent)", p)
	}
	return p
}

// writeTSV writes a file of the given lines under dir and returns its path.
func writeTSV(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// hubServer serves the files of a local model directory as the Hugging Face hub serves
// repository repo at revision main, and counts the requests.
func hubServer(t testing.TB, repo, dir string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		name, ok := strings.CutPrefix(r.URL.Path, "/"+repo+"/resolve/main/")
		if !ok || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, name))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}
