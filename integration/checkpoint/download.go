package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub; the HF_ENDPOINT environment
// variable overrides it, as in the huggingface_hub Python library.
const DefaultEndpoint = "https://huggingface.co"

// DownloadOptions configures Download. The zero value downloads the "main"
// revision from HF_ENDPOINT or DefaultEndpoint into the user cache.
type DownloadOptions struct {
	// Endpoint is the hub base URL (default: $HF_ENDPOINT, else
	// DefaultEndpoint).
	Endpoint string
	// Revision is a branch, tag or commit (default "main").
	Revision string
	// CacheDir is the root of the cache (default: os.UserCacheDir()/spago-peft/hub).
	// Files of repo "owner/name" go to CacheDir/owner/name, or to
	// CacheDir/owner/name@revision for a revision other than "main".
	CacheDir string
	// Token, if set, is sent as a bearer token (default: $HF_TOKEN).
	Token string
	// Client performs the requests (default http.DefaultClient).
	Client *http.Client
	// Progress, if set, is called as each file downloads with the bytes
	// written so far and the total size (-1 if the server does not say).
	Progress func(file string, done, total int64)
}

// repoIDPattern accepts "name" or "owner/name" with the hub's characters.
var repoIDPattern = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Download fetches a checkpoint of the BERT family from the Hugging Face hub
// (GET {Endpoint}/{repo}/resolve/{Revision}/{file}) into the cache and returns
// the local directory. It fetches config.json, the tokenizer file of its
// architecture (Architecture.TokenizerFile: vocab.txt, or tokenizer.json for
// RoBERTa and XLM-R), tokenizer_config.json (if the repo has one) and
// model.safetensors, or pytorch_model.bin when the repo has no safetensors
// file. Files already in the cache are not fetched again, and a cache holding
// config.json, the tokenizer file and a weights file is used without any
// request. Each file is written to a
// temporary file and renamed into place, so the cache never holds a partial
// file.
func Download(ctx context.Context, repo string, opts DownloadOptions) (string, error) {
	if !repoIDPattern.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("%w: %q is not a hub repository id (want \"name\" or \"owner/name\")", ErrUnsupported, repo)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(opts.CacheDir, filepath.FromSlash(repo))
	if opts.Revision != "main" {
		dir += "@" + strings.ReplaceAll(opts.Revision, "/", "_")
	}
	cached := func(name string) bool {
		info, err := os.Stat(filepath.Join(dir, name))
		return err == nil && info.Mode().IsRegular()
	}
	haveWeights := cached(SafetensorsFile) || cached(PyTorchFile)
	if cached(ConfigFile) && cached(tokenizerFile(dir)) && haveWeights {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: creating cache directory: %v", ErrDownload, err)
	}
	d := downloader{opts: opts, repo: repo, dir: dir}
	if !cached(ConfigFile) {
		if err := d.fetch(ctx, ConfigFile); err != nil {
			return "", err
		}
	}
	if name := tokenizerFile(dir); !cached(name) {
		if err := d.fetch(ctx, name); err != nil {
			return "", err
		}
	}
	if !cached(TokenizerConfigFile) {
		if err := d.fetch(ctx, TokenizerConfigFile); err != nil && !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	if !haveWeights {
		err := d.fetch(ctx, SafetensorsFile)
		if errors.Is(err, ErrNotFound) {
			err = d.fetch(ctx, PyTorchFile)
			if errors.Is(err, ErrNotFound) {
				return "", fmt.Errorf("%w: hub repository %s (revision %s) has neither %s nor %s",
					ErrNotFound, repo, opts.Revision, SafetensorsFile, PyTorchFile)
			}
		}
		if err != nil {
			return "", err
		}
	}
	return dir, nil
}

// tokenizerFile is the tokenizer file of the architecture of dir/config.json, or vocab.txt when
// there is no config.json of a supported architecture (LoadDir then says what is wrong) or the
// architecture names none.
func tokenizerFile(dir string) string {
	if cfg, err := ReadConfig(filepath.Join(dir, ConfigFile)); err == nil && cfg.Architecture().TokenizerFile != "" {
		return cfg.Architecture().TokenizerFile
	}
	return VocabFile
}

func (o DownloadOptions) withDefaults() (DownloadOptions, error) {
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	o.Endpoint = strings.TrimSuffix(o.Endpoint, "/")
	if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("%w: endpoint %q is not an http(s) URL", ErrUnsupported, o.Endpoint)
	}
	if o.Revision == "" {
		o.Revision = "main"
	}
	if o.Token == "" {
		o.Token = os.Getenv("HF_TOKEN")
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.CacheDir == "" {
		root, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("%w: no cache directory (set DownloadOptions.CacheDir): %v", ErrDownload, err)
		}
		o.CacheDir = filepath.Join(root, "spago-peft", "hub")
	}
	return o, nil
}

// downloader fetches the files of one repository into dir.
type downloader struct {
	opts DownloadOptions
	repo string
	dir  string
}

// fetch downloads one file atomically into d.dir.
func (d downloader) fetch(ctx context.Context, name string) error {
	u := d.opts.Endpoint + "/" + d.repo + "/resolve/" + url.PathEscape(d.opts.Revision) + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDownload, u, err)
	}
	req.Header.Set("User-Agent", "spago-peft")
	if d.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.opts.Token)
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrDownload, u, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, u); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(d.dir, "."+name+".*.part")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDownload, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: %v", ErrDownload, err)
	}
	total := resp.ContentLength
	w := &progressWriter{w: tmp, file: name, total: total, report: d.opts.Progress}
	w.notify()
	n, err := io.Copy(w, resp.Body)
	if err == nil && total >= 0 && n != total {
		err = fmt.Errorf("got %d of %d bytes", n, total)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrDownload, u, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("%w: %v", ErrDownload, err)
	}
	return nil
}

// statusError maps a non-200 answer to an error, using the X-Error-Code
// header the hub sets (RepoNotFound, RevisionNotFound, EntryNotFound,
// GatedRepo) to say what is missing. The hub answers 401 both for private
// repositories and for ones that do not exist.
func statusError(resp *http.Response, u string) error {
	const tokenHint = "set DownloadOptions.Token or HF_TOKEN"
	code := resp.Header.Get("X-Error-Code")
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case code == "GatedRepo":
		return fmt.Errorf("%w: GET %s: %s: gated repository: accept its terms on the hub and %s", ErrUnauthorized, u, resp.Status, tokenHint)
	case code == "RepoNotFound":
		return fmt.Errorf("%w: GET %s: %s: repository not found (if it is private, %s)", ErrNotFound, u, resp.Status, tokenHint)
	case code == "RevisionNotFound":
		return fmt.Errorf("%w: GET %s: %s: revision not found", ErrNotFound, u, resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: GET %s: %s: no such repository, revision or file", ErrNotFound, u, resp.Status)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: GET %s: %s: the repository is private or gated (%s), or does not exist", ErrUnauthorized, u, resp.Status, tokenHint)
	default:
		return fmt.Errorf("%w: GET %s: %s", ErrDownload, u, resp.Status)
	}
}

// progressWriter forwards writes and reports progress.
type progressWriter struct {
	w      io.Writer
	file   string
	done   int64
	total  int64
	report func(file string, done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.notify()
	return n, err
}

func (p *progressWriter) notify() {
	if p.report != nil {
		p.report(p.file, p.done, p.total)
	}
}
