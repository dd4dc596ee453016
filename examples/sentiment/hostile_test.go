package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asMainEnv makes the test binary run main instead of the tests, so that the hostile-input tests
// see the command as a user does: its exit status, its stderr, and any crash.
const asMainEnv = "SENTIMENT_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// nobody is the user the hostile cases run as when the tests run as root, for whom read-only
// directories are writable.
const nobody = 65534

// hostileEnv is a world-readable directory holding a copy of the test binary, a trained
// adapter, and one working directory per case.
type hostileEnv struct {
	root, bin, adapter, tiny, hub string
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	root, err := os.MkdirTemp("", "sentiment-hostile-")
	require.NoError(t, err)
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(root)
	})
	require.NoError(t, os.Chmod(root, 0o755))
	e := &hostileEnv{root: root, bin: filepath.Join(root, "sentiment.test"), adapter: filepath.Join(root, "adapter"), tiny: filepath.Join(root, "tiny-bert")}
	self, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, os.CopyFS(filepath.Join(root, "bin"), os.DirFS(filepath.Dir(self)))) // the binary and nothing it needs beside it
	require.NoError(t, os.Rename(filepath.Join(root, "bin", filepath.Base(self)), e.bin))
	require.NoError(t, os.Chmod(e.bin, 0o755))
	require.NoError(t, os.CopyFS(e.tiny, os.DirFS(tinyBert)))
	var out bytes.Buffer
	f, err := parseTrainFlags([]string{"--steps", "1", "--r", "2", "--batch", "4", "--save", e.adapter}, &out)
	require.NoError(t, err)
	_, err = trainAndSave(context.Background(), f, &out, &out)
	require.NoError(t, err, out.String())
	srv := httptest.NewServer(http.NotFoundHandler()) // a hub that has nothing
	t.Cleanup(srv.Close)
	e.hub = srv.URL
	return e
}

// hostileCase is one row of the table: setup prepares the working directory w (which holds a
// previous adapter in sentiment-adapter) and returns the arguments and stdin.
type hostileCase struct {
	name  string
	setup func(t *testing.T, e *hostileEnv, w string) (args []string, stdin string)
	code  int
	want  string // in the error line, or in stdout for exit status 0
	// interrupt sends SIGINT once training has started.
	interrupt bool
}

// args returns a setup that only passes args.
func args(a ...string) func(*testing.T, *hostileEnv, string) ([]string, string) {
	return func(*testing.T, *hostileEnv, string) ([]string, string) { return a, "" }
}

// tsv writes a data file in w.
func tsv(t *testing.T, w, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(w, name)
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return p
}

// Every hostile input exits with its documented status, one error line on stderr and no stack
// trace, and leaves the working directory, and the previous adapter in it, byte for byte as it
// was.
func TestHostileInput(t *testing.T) {
	e := newHostileEnv(t)
	good := []string{"sentence\tlabel", "a fine film\t1", "a bad film\t0", "a great film\t1", "a dull film\t0"}
	cases := []hostileCase{
		// 1. Crashes.
		{name: "huge label", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--data", tsv(t, w, "d.tsv", append(good, "oops\t100000000000")...)}, ""
		}, code: exitUsage, want: `d.tsv:6: label "100000000000" is too large`},
		{name: "huge --num-labels", setup: args("--num-labels", "100000000000"), code: exitUsage, want: "--num-labels 100000000000: want 2 to 10000"},
		{name: "data from /dev/zero", setup: args("--data", "/dev/zero"), code: exitUsage, want: "/dev/zero:1: line longer than the limit of 1024 KiB"},
		{name: "data file over the size limit", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			p := tsv(t, w, "big.tsv", good...)
			require.NoError(t, os.Truncate(p, 300<<20)) // sparse
			return []string{"--data", p}, ""
		}, code: exitUsage, want: "big.tsv: 300 MiB, more than the limit of 256 MiB"},
		// 2. Silently wrong results.
		{name: "one mistyped label among 0s and 1s", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--data", tsv(t, w, "t.tsv", good...), "--dev", tsv(t, w, "dev.tsv", "sentence\tlabel", "fine\t1", "typo\t1000")}, ""
		}, code: exitUsage, want: "dev.tsv:3: label 1000, but no row has label 2"},
		{name: "all-zero HRA vector", setup: func(t *testing.T, e *hostileEnv, w string) ([]string, string) {
			bad := filepath.Join(w, "bad-adapter")
			require.NoError(t, os.CopyFS(bad, os.DirFS(e.adapter)))
			require.NoError(t, adaptertest.ZeroColumn(filepath.Join(bad, peft.AdapterWeightsFile), "layer.0.attention.self.query.hra_u", 1))
			return []string{"predict", "--adapter-dir", bad, "a fine film"}, ""
		}, code: exitUsage, want: "column 1 of U has norm 0"},
		{name: "adapter on another base", setup: func(t *testing.T, e *hostileEnv, w string) ([]string, string) {
			return []string{"predict", "--adapter-dir", e.adapter, "--model", e.tiny, "a fine film"}, ""
		}, code: exitUsage, want: "was trained on spago-peft/offline-default-bert (fingerprint "},
		{name: "--r 0", setup: args("--r", "0"), code: exitUsage, want: "--r 0: want at least 1"},
		{name: "--batch 0", setup: args("--batch", "0"), code: exitUsage, want: "--batch 0: want at least 1"},
		{name: "--steps 0", setup: args("--steps", "0"), code: exitUsage, want: "--steps 0: want at least 1"},
		{name: "--lr 0", setup: args("--lr", "0"), code: exitUsage, want: "--lr 0: want a positive learning rate"},
		{name: "empty --targets", setup: args("--targets", ""), code: exitUsage, want: `--targets "" names no module`},
		{name: "--targets of commas", setup: args("--targets", ",,,"), code: exitUsage, want: `--targets ",,," names no module`},
		{name: "diverging --lr", setup: args("--lr", "1e30", "--steps", "200"), code: exitFailure, want: "training diverged: training loss"},
		// 3. A finished run thrown away: the destination is checked first.
		{name: "a file in the way", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--save", tsv(t, w, "notes.txt", "mine")}, ""
		}, code: exitUsage, want: "notes.txt exists and is not a directory"},
		{name: "read-only parent", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			ro := filepath.Join(w, "ro")
			require.NoError(t, os.Mkdir(ro, 0o555))
			return []string{"--save", filepath.Join(ro, "adapter")}, ""
		}, code: exitUsage, want: "ro: permission denied"},
		{name: "missing parent in a read-only directory", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			ro := filepath.Join(w, "ro")
			require.NoError(t, os.Mkdir(ro, 0o555))
			return []string{"--save", filepath.Join(ro, "missing", "adapter")}, ""
		}, code: exitUsage, want: "ro: permission denied"},
		{name: "missing parent under a file", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--save", filepath.Join(tsv(t, w, "f", "x"), "missing", "adapter")}, ""
		}, code: exitUsage, want: "f is not a directory"},
		{name: "dangling symlink", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			link := filepath.Join(w, "link")
			require.NoError(t, os.Symlink(filepath.Join(w, "gone"), link))
			return []string{"--save", link}, ""
		}, code: exitUsage, want: "link is a symbolic link to "},
		// 4. User files moved aside.
		{name: "read-only adapter directory", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			require.NoError(t, os.Chmod(filepath.Join(w, "sentiment-adapter"), 0o555))
			return nil, ""
		}, code: exitUsage, want: "sentiment-adapter: permission denied"},
		{name: "adapter directory with a subdirectory", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			require.NoError(t, os.Mkdir(filepath.Join(w, "sentiment-adapter", "runs"), 0o755))
			return nil, ""
		}, code: exitUsage, want: "holds the directory runs"},
		// 5. Adapters tied to the working directory.
		{name: "recorded base gone", setup: func(t *testing.T, e *hostileEnv, w string) ([]string, string) {
			moved := filepath.Join(w, "moved-adapter")
			require.NoError(t, os.CopyFS(moved, os.DirFS(e.adapter)))
			config := filepath.Join(moved, peft.AdapterConfigFile)
			b, err := os.ReadFile(config)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(config, bytes.Replace(b, []byte("spago-peft/offline-default-bert"), []byte("./models/gone"), 1), 0o644))
			return []string{"predict", "--adapter-dir", moved, "a fine film"}, ""
		}, code: exitUsage, want: "./models/gone (base_model_name_or_path of "},
		// 6. Messages.
		{name: "missing data file", setup: args("--data", "nope.tsv"), code: exitUsage, want: "data file nope.tsv does not exist"},
		{name: "odd --r", setup: args("--r", "3"), code: exitUsage, want: "--r 3: HRA's identity init pairs its reflections, so r must be even; use an even --r, or --gs"},
		{name: "missing relative model", setup: args("--model", "models/bert-tiny"), code: exitUsage, want: "model models/bert-tiny: no such local directory, and the hub download failed"},
		{name: "model is a file", setup: func(t *testing.T, e *hostileEnv, w string) ([]string, string) {
			return []string{"--model", filepath.Join(e.tiny, "config.json")}, ""
		}, code: exitUsage, want: "config.json is a file; want a Hugging Face model directory"},
		{name: "--num-labels 1", setup: args("--num-labels", "1"), code: exitUsage, want: "--num-labels 1: want 2 to 10000"},
		{name: "garbage header", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			p := filepath.Join(w, "garbage.tsv")
			require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 3}, 4096), 0o644))
			return []string{"--data", p}, ""
		}, code: exitUsage, want: `… (32768 bytes) lacks a "sentence" or a "label" column`},
		{name: "interrupted", setup: args("--steps", "100000", "--batch", "4"), code: exitSignal, want: "sentiment: interrupted", interrupt: true},
		// 7. Predict.
		{name: "predict: a stdin line over 64 KiB", setup: func(*testing.T, *hostileEnv, string) ([]string, string) {
			return []string{"predict"}, "a fine film " + strings.Repeat("very ", 20000) + "\n"
		}, code: exitOK, want: "a fine film very very"},
		{name: "predict: stdin of zeros", setup: func(*testing.T, *hostileEnv, string) ([]string, string) {
			return []string{"predict"}, strings.Repeat("\x00", 2<<20)
		}, code: exitUsage, want: "stdin:1: line longer than the limit of 1024 KiB"},
		{name: "predict: empty stdin", setup: args("predict"), code: exitUsage, want: "predict: no sentences: give them as arguments, or as lines on stdin"},
		{name: "predict: blank stdin", setup: func(*testing.T, *hostileEnv, string) ([]string, string) {
			return []string{"predict"}, "\n  \n\n"
		}, code: exitUsage, want: "predict: no sentences"},
		{name: "predict: empty argument", setup: args("predict", ""), code: exitUsage, want: "predict: every sentence argument is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := filepath.Join(e.root, strings.NewReplacer(" ", "-", "/", "-").Replace(c.name))
			require.NoError(t, os.CopyFS(filepath.Join(w, "sentiment-adapter"), os.DirFS(e.adapter)))
			require.NoError(t, os.WriteFile(filepath.Join(w, "sentiment-adapter", "README.md"), []byte("the user's notes"), 0o644))
			args, stdin := c.setup(t, e, w)
			if strings.HasPrefix(c.name, "predict:") { // the trained adapter
				args = append(args[:1], append([]string{"--adapter-dir", e.adapter}, args[1:]...)...)
			}
			giveToNobody(t, w)
			before := snapshot(t, w)
			code, stdout, stderr := e.run(t, w, args, stdin, c.interrupt)
			assert.Equal(t, c.code, code, "stderr:\n%s", stderr)
			assert.NotContains(t, stderr, "goroutine ")
			assert.NotContains(t, stderr, "panic")
			var errLines []string
			for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
				if strings.HasPrefix(line, "sentiment: ") {
					errLines = append(errLines, line)
				}
			}
			if c.code == exitOK {
				assert.Empty(t, errLines)
				assert.Contains(t, stdout, c.want)
			} else {
				require.Len(t, errLines, 1, "one error line:\n%s", stderr)
				assert.True(t, strings.HasSuffix(strings.TrimRight(stderr, "\n"), errLines[0]), "the error line comes last:\n%s", stderr)
				assert.Contains(t, errLines[0], c.want)
				assert.Less(t, len(errLines[0]), 600, "a short line")
			}
			assert.Equal(t, before, snapshot(t, w), "the working directory is as it was")
		})
	}
}

// run runs the command in w as a user (as nobody if the tests run as root), with the hub
// pointing at a server that has nothing.
func (e *hostileEnv) run(t *testing.T, w string, args []string, stdin string, interrupt bool) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Dir = w
	cmd.Env = []string{asMainEnv + "=1", "HOME=" + e.root, "XDG_CACHE_HOME=" + filepath.Join(e.root, "cache"), "HF_ENDPOINT=" + e.hub, "TERM=dumb"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	if !interrupt {
		cmd.Stderr = &errOut
		err := cmd.Run()
		return exitCode(t, err), out.String(), errOut.String()
	}
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "step 1/") {
			require.NoError(t, cmd.Process.Signal(os.Interrupt))
			break
		}
	}
	rest, _ := io.ReadAll(pipe)
	errOut.Write(rest)
	return exitCode(t, cmd.Wait()), out.String(), errOut.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	exit, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v", err)
	return exit.ExitCode()
}

// giveToNobody hands the tree under w to the unprivileged user the cases run as, when the tests
// run as root.
func giveToNobody(t *testing.T, w string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	require.NoError(t, filepath.WalkDir(w, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}))
}

// snapshot maps every entry under root to its mode and content (a link to its target).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		content := ""
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			content, err = os.Readlink(p)
		case d.Type().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			content = string(b)
		}
		out[p] = info.Mode().String() + " " + content
		return err
	}))
	return out
}
