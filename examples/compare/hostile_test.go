//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/internal/clitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { clitest.AsMain(m, main) }

// Every hostile input exits with its documented status, one error line on stderr and no stack
// trace, and leaves the working directory, and the previous results in it, byte for byte as
// they were.
func TestHostileInput(t *testing.T) {
	env := clitest.NewEnv(t)
	hub := httptest.NewServer(http.NotFoundHandler()) // a hub that has nothing
	defer hub.Close()
	write := func(t *testing.T, path string, lines ...string) string {
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		return path
	}
	good := []string{"sentence\tlabel", "a fine film\t1", "a bad film\t0", "a great film\t1", "a dull film\t0"}
	cases := []struct {
		name        string
		setup       func(t *testing.T, w string) []string // returns the arguments
		code        int
		want        string
		interruptAt string
	}{
		{"--hra-r 0", func(*testing.T, string) []string { return []string{"--hra-r", "0"} }, exitUsage, "--hra-r 0: want at least 1", ""},
		{"--lora-r 0", func(*testing.T, string) []string { return []string{"--lora-r", "0"} }, exitUsage, "--lora-r 0: want at least 1", ""},
		{"--oft-block 0", func(*testing.T, string) []string { return []string{"--oft-block", "0"} }, exitUsage, "--oft-block 0: want at least 1", ""},
		{"empty --targets", func(*testing.T, string) []string { return []string{"--targets", ""} }, exitUsage, `--targets "" names no module`, ""},
		{"--targets of commas", func(*testing.T, string) []string { return []string{"--targets", ",,,"} }, exitUsage, `--targets ",,," names no module`, ""},
		{"a file in the way of --out", func(t *testing.T, w string) []string {
			return []string{"--out", write(t, filepath.Join(w, "notes.txt"), "mine")}
		}, exitUsage, "notes.txt exists and is not a directory", ""},
		{"read-only parent of --out", func(t *testing.T, w string) []string {
			require.NoError(t, os.Mkdir(filepath.Join(w, "ro"), 0o555))
			return []string{"--out", filepath.Join(w, "ro", "results")}
		}, exitUsage, "ro: permission denied", ""},
		{"dangling symlink --out", func(t *testing.T, w string) []string {
			require.NoError(t, os.Symlink(filepath.Join(w, "gone"), filepath.Join(w, "link")))
			return []string{"--out", filepath.Join(w, "link")}
		}, exitUsage, "link is a symbolic link to ", ""},
		{"read-only results directory", func(t *testing.T, w string) []string {
			require.NoError(t, os.Chmod(filepath.Join(w, "compare-results"), 0o555))
			return nil
		}, exitUsage, "compare-results: permission denied", ""},
		{"results directory with a subdirectory", func(t *testing.T, w string) []string {
			require.NoError(t, os.Mkdir(filepath.Join(w, "compare-results", "old"), 0o755))
			return nil
		}, exitUsage, "holds the directory old", ""},
		{"data from /dev/zero", func(*testing.T, string) []string { return []string{"--data", "/dev/zero"} }, exitUsage, "/dev/zero:1: line longer than the limit", ""},
		{"huge label", func(t *testing.T, w string) []string {
			return []string{"--data", write(t, filepath.Join(w, "d.tsv"), append(good, "x\t100000000000")...)}
		}, exitUsage, `d.tsv:6: label "100000000000" is too large`, ""},
		{"a label leaving classes empty", func(t *testing.T, w string) []string {
			return []string{"--data", write(t, filepath.Join(w, "d.tsv"), append(good, "x\t1000")...)}
		}, exitUsage, "d.tsv:6: label 1000, but no row has label 2", ""},
		{"missing relative model", func(*testing.T, string) []string { return []string{"--model", "models/bert-tiny"} },
			exitUsage, "model models/bert-tiny: no such local directory, and the hub download failed", ""},
		{"model is a file", func(t *testing.T, w string) []string {
			return []string{"--model", write(t, filepath.Join(w, "config.json"), "{}")}
		}, exitUsage, "config.json is a file", ""},
		{"diverging --lr", func(*testing.T, string) []string {
			return []string{"--methods", "hra", "--lr", "1e30", "--steps", "200"}
		},
			exitFailure, "training diverged", ""},
		{"interrupted", func(*testing.T, string) []string { return []string{"--steps", "100000", "--batch", "4"} },
			exitInterrupted, "compare: interrupted", "[1/5]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := filepath.Join(env.Root, strings.NewReplacer(" ", "-", "/", "-").Replace(c.name))
			results := filepath.Join(w, "compare-results")
			require.NoError(t, os.MkdirAll(results, 0o755))
			for _, name := range []string{csvFile, jsonFile, plotFile, "README.md"} {
				write(t, filepath.Join(results, name), "previous "+name)
			}
			args := c.setup(t, w)
			clitest.GiveToNobody(t, w)
			before := clitest.Snapshot(t, w)
			r := env.Run(t, clitest.Command{Dir: w, Args: append([]string{"--steps", "2", "--batch", "4"}, args...),
				Env: []string{"HF_ENDPOINT=" + hub.URL}, InterruptAt: c.interruptAt})
			assert.Equal(t, c.code, r.Code, "stderr:\n%s", r.Stderr)
			if c.code == exitUsage {
				clitest.CheckOnlyLine(t, r, "compare: ", c.want)
			} else {
				clitest.CheckFailure(t, r, "compare: ", c.want)
			}
			assert.Equal(t, before, clitest.Snapshot(t, w), "the working directory is as it was")
		})
	}
}
