package checkpoint

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeHub serves tiny-bert's files as the Hugging Face hub does, under
// /{repo}/resolve/{revision}/{file}, and records the requests.
type fakeHub struct {
	repo     string
	revision string
	files    map[string][]byte
	// private repositories answer 401 (the hub also does so for unknown
	// repositories when the request has no token).
	private   bool
	errorCode string // X-Error-Code of the 401 a private repository answers
	truncated string // file whose body is cut short
	status    int    // if set, the status of every answer

	mu       sync.Mutex
	requests []string
}

func newFakeHub(t *testing.T, repo string, files ...string) *fakeHub {
	t.Helper()
	h := &fakeHub{repo: repo, revision: "main", files: map[string][]byte{}}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(tinyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		h.files[name] = data
	}
	return h
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.URL.Path)
	h.mu.Unlock()
	if h.status != 0 {
		http.Error(w, "unavailable", h.status)
		return
	}
	if h.private && r.Header.Get("Authorization") != "Bearer secret" {
		if h.errorCode != "" {
			w.Header().Set("X-Error-Code", h.errorCode)
		}
		http.Error(w, "Repository not found", http.StatusUnauthorized)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/"+h.repo+"/resolve/"+h.revision+"/")
	data, found := h.files[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	if name == h.truncated {
		w.Header().Set("Content-Length", itoa(len(data)))
		w.Write(data[:len(data)/2])
		return // the server closes the connection early
	}
	w.Header().Set("Content-Length", itoa(len(data)))
	w.Write(data)
}

func (h *fakeHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func startHub(t *testing.T, h *fakeHub) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDownload(t *testing.T) {
	hub := newFakeHub(t, "tiny/bert", ConfigFile, VocabFile, SafetensorsFile, PyTorchFile)
	cache := t.TempDir()
	var mu sync.Mutex
	progress := map[string][2]int64{} // file -> last (done, total)
	opts := DownloadOptions{
		Endpoint: startHub(t, hub),
		CacheDir: cache,
		Progress: func(file string, done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			progress[file] = [2]int64{done, total}
		},
	}
	dir, err := Download(context.Background(), "tiny/bert", opts)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(cache, "tiny", "bert") {
		t.Errorf("dir %s", dir)
	}
	// config, vocab, tokenizer_config (404, optional), safetensors.
	if n := hub.count(); n != 4 {
		t.Errorf("%d requests %v, want 4", n, hub.requests)
	}
	for _, name := range []string{ConfigFile, VocabFile, SafetensorsFile} {
		size := int64(len(hub.files[name]))
		if p := progress[name]; p[0] != size || p[1] != size {
			t.Errorf("last progress of %s: %v, want done = total = %d", name, p, size)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, PyTorchFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pytorch_model.bin downloaded although model.safetensors exists")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("cache holds %d entries, want 3 (no temporary files)", len(entries))
	}

	// Everything is cached: no request at all.
	again, err := Download(context.Background(), "tiny/bert", opts)
	if err != nil || again != dir {
		t.Fatalf("second download: %q, %v", again, err)
	}
	if n := hub.count(); n != 4 {
		t.Errorf("second download made %d requests", n-4)
	}
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasClassifier() {
		t.Error("downloaded checkpoint lost its classifier")
	}
}

func TestDownloadFallsBackToPyTorch(t *testing.T) {
	hub := newFakeHub(t, "bert-tiny", ConfigFile, VocabFile, TokenizerConfigFile, PyTorchFile)
	opts := DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir()}
	c, err := Load(context.Background(), "bert-tiny", opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadPyTorch(filepath.Join(tinyDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, want, c.Tensors)
	dir := filepath.Join(opts.CacheDir, "bert-tiny")
	for _, name := range []string{TokenizerConfigFile, PyTorchFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not cached: %v", name, err)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	all := []string{ConfigFile, VocabFile, SafetensorsFile}
	tests := []struct {
		name     string
		repo     string
		files    []string
		setup    func(h *fakeHub, o *DownloadOptions)
		sentinel error
		mentions string
	}{
		{name: "unknown repo", repo: "nobody/nothing", files: all,
			sentinel: ErrNotFound, mentions: "nobody/nothing/resolve/main/config.json"},
		{name: "no weights", repo: "tiny/bert", files: []string{ConfigFile, VocabFile},
			sentinel: ErrNotFound, mentions: "neither"},
		{name: "no vocabulary", repo: "tiny/bert", files: []string{ConfigFile, SafetensorsFile},
			sentinel: ErrNotFound, mentions: VocabFile},
		{name: "private", repo: "tiny/bert", files: all,
			setup:    func(h *fakeHub, _ *DownloadOptions) { h.private = true },
			sentinel: ErrUnauthorized, mentions: "HF_TOKEN"},
		{name: "repository not found (hub error code)", repo: "tiny/bert", files: all,
			setup:    func(h *fakeHub, _ *DownloadOptions) { h.private, h.errorCode = true, "RepoNotFound" },
			sentinel: ErrNotFound, mentions: "repository not found"},
		{name: "gated", repo: "tiny/bert", files: all,
			setup:    func(h *fakeHub, _ *DownloadOptions) { h.private, h.errorCode = true, "GatedRepo" },
			sentinel: ErrUnauthorized, mentions: "gated"},
		{name: "server error", repo: "tiny/bert", files: all,
			setup:    func(h *fakeHub, _ *DownloadOptions) { h.status = http.StatusServiceUnavailable },
			sentinel: ErrDownload, mentions: "503"},
		{name: "unknown revision", repo: "tiny/bert", files: all,
			setup:    func(_ *fakeHub, o *DownloadOptions) { o.Revision = "v2" },
			sentinel: ErrNotFound, mentions: "/resolve/v2/"},
		{name: "truncated body", repo: "tiny/bert", files: all,
			setup:    func(h *fakeHub, _ *DownloadOptions) { h.truncated = SafetensorsFile },
			sentinel: ErrDownload, mentions: SafetensorsFile},
		{name: "invalid repo id", repo: "../etc", files: all,
			sentinel: ErrUnsupported, mentions: "../etc"},
		{name: "bad endpoint", repo: "tiny/bert", files: all,
			setup:    func(_ *fakeHub, o *DownloadOptions) { o.Endpoint = "ftp://example.com" },
			sentinel: ErrUnsupported, mentions: "ftp://example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := newFakeHub(t, "tiny/bert", tt.files...)
			opts := DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir()}
			if tt.setup != nil {
				tt.setup(hub, &opts)
			}
			_, err := Download(context.Background(), tt.repo, opts)
			requireError(t, err, tt.sentinel, tt.mentions)
			// Whatever failed, no partial file is left in the cache.
			filepath.WalkDir(opts.CacheDir, func(path string, d os.DirEntry, _ error) error {
				if strings.HasSuffix(path, ".part") {
					t.Errorf("temporary file %s left behind", path)
				}
				return nil
			})
		})
	}
}

func TestDownloadToken(t *testing.T) {
	hub := newFakeHub(t, "tiny/bert", ConfigFile, VocabFile, SafetensorsFile)
	hub.private = true
	opts := DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir(), Token: "secret"}
	if _, err := Download(context.Background(), "tiny/bert", opts); err != nil {
		t.Fatal(err)
	}
}

func TestDownloadEnvironment(t *testing.T) {
	hub := newFakeHub(t, "tiny/bert", ConfigFile, VocabFile, SafetensorsFile)
	hub.revision = "refs/pr/1"
	t.Setenv("HF_ENDPOINT", startHub(t, hub)+"/")
	opts := DownloadOptions{CacheDir: t.TempDir(), Revision: "refs/pr/1"}
	dir, err := Download(context.Background(), "tiny/bert", opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(opts.CacheDir, "tiny", "bert@refs_pr_1"); dir != want {
		t.Errorf("dir %s, want %s", dir, want)
	}
}

func TestDownloadNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close() // nothing listens there any more
	_, err := Download(context.Background(), "tiny/bert", DownloadOptions{Endpoint: endpoint, CacheDir: t.TempDir()})
	requireError(t, err, ErrDownload, endpoint)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	hub := newFakeHub(t, "tiny/bert", ConfigFile)
	_, err = Download(ctx, "tiny/bert", DownloadOptions{Endpoint: startHub(t, hub), CacheDir: t.TempDir()})
	requireError(t, err, context.Canceled)
}
