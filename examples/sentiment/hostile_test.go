//go:build unix

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

	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/clitest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { clitest.AsMain(m, main) }

// hostileEnv holds the command, a trained adapter, a copy of tiny-bert and an empty hub.
type hostileEnv struct {
	*clitest.Env
	adapter, tiny, hub string
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	env := clitest.NewEnv(t)
	e := &hostileEnv{Env: env, adapter: filepath.Join(env.Root, "adapter"), tiny: filepath.Join(env.Root, "tiny-bert")}
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
	// interruptAt sends SIGINT once a line of stderr contains it.
	interruptAt string
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
		{name: "interrupted", setup: args("--steps", "100000", "--batch", "4"), code: exitSignal, want: "sentiment: interrupted", interruptAt: "step 1/"},
		{name: "missing adapter directory", setup: args("predict", "--adapter-dir", "nope", "a fine film"), code: exitUsage,
			want: "adapter directory: stat nope: no such file or directory"},
		{name: "adapter directory is a file", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"predict", "--adapter-dir", tsv(t, w, "notes.txt", "mine"), "a fine film"}, ""
		}, code: exitUsage, want: "notes.txt is a file, want an adapter directory"},
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
		// 8. Tasks: pairs, regression, token classification.
		{name: "missing pair column", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--data", tsv(t, w, "d.tsv", good...), "--pair", "sentence2"}, ""
		}, code: exitUsage, want: `d.tsv:1: header "sentence\tlabel" has no pair column "sentence2"`},
		{name: "non-numeric score", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--task", "regress", "--data", tsv(t, w, "s.tsv", "sentence1\tsentence2\tscore", "a\tb\t4.5", "c\td\tn/a")}, ""
		}, code: exitUsage, want: `s.tsv:3: score "n/a" is not a finite number`},
		{name: "label -100 in a TSV", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--data", tsv(t, w, "d.tsv", append(good, "masked\t-100")...)}, ""
		}, code: exitUsage, want: "d.tsv:6: label -100 is negative"},
		{name: "malformed CoNLL line", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--task", "tokens", "--data", tsv(t, w, "ner.txt", "EU NNP B-NP B-ORG", "rejects VBZ O", "")}, ""
		}, code: exitUsage, want: "ner.txt:2: 3 columns, want 4 as on line 1"},
		{name: "tag -100 in CoNLL", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--task", "tokens", "--data", tsv(t, w, "ner.txt", "EU B-ORG", "rejects -100", "")}, ""
		}, code: exitUsage, want: `ner.txt:2: tag "-100" is transformers' ignore index`},
		{name: "a TSV file as CoNLL", setup: func(t *testing.T, _ *hostileEnv, w string) ([]string, string) {
			return []string{"--task", "tokens", "--data", tsv(t, w, "d.tsv", good...)}, ""
		}, code: exitUsage, want: "d.tsv:2: 4 columns, want 2 as on line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := filepath.Join(e.Root, strings.NewReplacer(" ", "-", "/", "-").Replace(c.name))
			require.NoError(t, os.CopyFS(filepath.Join(w, "sentiment-adapter"), os.DirFS(e.adapter)))
			require.NoError(t, os.WriteFile(filepath.Join(w, "sentiment-adapter", "README.md"), []byte("the user's notes"), 0o644))
			args, stdin := c.setup(t, e, w)
			if strings.HasPrefix(c.name, "predict:") { // the trained adapter
				args = append(args[:1], append([]string{"--adapter-dir", e.adapter}, args[1:]...)...)
			}
			clitest.GiveToNobody(t, w)
			before := clitest.Snapshot(t, w)
			r := e.Run(t, clitest.Command{Dir: w, Args: args, Stdin: stdin, Env: []string{"HF_ENDPOINT=" + e.hub}, InterruptAt: c.interruptAt})
			assert.Equal(t, c.code, r.Code, "stderr:\n%s", r.Stderr)
			if c.code == exitOK {
				assert.NotContains(t, r.Stderr, "sentiment: ")
				assert.Contains(t, r.Stdout, c.want)
			} else if c.code == exitUsage {
				clitest.CheckOnlyLine(t, r, "sentiment: ", c.want)
			} else {
				clitest.CheckFailure(t, r, "sentiment: ", c.want)
			}
			assert.Equal(t, before, clitest.Snapshot(t, w), "the working directory is as it was")
		})
	}
}
