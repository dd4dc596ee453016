package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyBase is this project's 2-layer BERT pre-trained on SST-2, and sst2 the data, outside the
// repository (../shared).
const (
	tinyBase = "../../../shared/models/sst-bert-tiny"
	sst2     = "../../../shared/data/sst2"
)

// TestLiveSameMaskReplay trains every method in Go with hidden and attention dropout, then has the
// real transformers + peft replay the same steps from the same weights (--save-init,
// --save-adapter-init) on the same batches (--trace) with Go's dropout masks (--masks): both
// stacks must give the same loss and gradient norm at every step and the same dev accuracy.
func TestLiveSameMaskReplay(t *testing.T) {
	py := testenv.Python(t)
	if _, err := os.Stat(filepath.Join(tinyBase, "config.json")); err != nil {
		t.Skipf("needs %s and %s (the shared data beside the repository)", tinyBase, sst2)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	headOf(t, filepath.Join(sst2, "train.tsv"), filepath.Join(data, "train.tsv"), 200)
	headOf(t, filepath.Join(sst2, "dev.tsv"), filepath.Join(data, "dev.tsv"), 100)
	script := func(args ...string) string {
		out, err := exec.Command(py, append([]string{"peft_compare.py", "--max-len", "32", "--data", data}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	initDir := filepath.Join(dir, "init")
	script("--model", tinyBase, "--save-init", initDir)

	trace, masks, adapters, results := filepath.Join(dir, "trace.jsonl"), filepath.Join(dir, "masks.bin"), filepath.Join(dir, "adapters"), filepath.Join(dir, "results")
	methods := "hra,lora,oft,head"
	code, _, stderr := runCompare(t, "--model", initDir, "--data", data, "--methods", methods, "--steps", "6", "--batch", "8",
		"--max-len", "32", "--dropout", "0.1", "--attention-dropout", "0.2", "--eval-every", "6", "--workers", "2",
		"--trace", trace, "--masks", masks, "--save-adapter-init", adapters, "--out", results)
	require.Equal(t, exitOK, code, stderr)
	var rep report
	b, err := os.ReadFile(filepath.Join(results, jsonFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))

	out := script("--model", initDir, "--batch", "8", "--methods", methods, "--dropout", "0.1", "--attention-dropout", "0.2",
		"--replay", trace, "--masks", masks, "--init-adapter", adapters, "--threads", "1")
	steps := 0
	for _, line := range strings.Split(out, "\n") {
		var step int
		var lossGo, lossPy, normGo, normPy float64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d  loss go %f py %f  grad norm go %f py %f", &step, &lossGo, &lossPy, &normGo, &normPy); err == nil {
			steps++
			assert.InDelta(t, lossGo, lossPy, 1e-5, "step %d's loss: %s", step, line)
			assert.InEpsilon(t, normGo, normPy, 1e-4, "step %d's gradient norm: %s", step, line)
		}
	}
	assert.Equal(t, 6*4, steps, "replayed steps:\n%s", out)
	for _, r := range rep.Methods {
		var acc, loss float64
		key := r.Method + ": dev acc "
		i := strings.Index(out, key)
		require.GreaterOrEqual(t, i, 0, "no dev accuracy of %s:\n%s", r.Method, out)
		_, err := fmt.Sscanf(out[i+len(key):], "%f, loss %f", &acc, &loss)
		require.NoError(t, err)
		assert.InDelta(t, r.DevAccuracy, acc, 1e-4, r.Method)
		assert.InDelta(t, r.DevLoss, loss, 1e-4, r.Method)
	}
}

// headOf copies the header and the first n rows of a TSV file.
func headOf(t *testing.T, from, to string, n int) {
	t.Helper()
	f, err := os.Open(from)
	require.NoError(t, err)
	defer f.Close()
	var b strings.Builder
	s := bufio.NewScanner(f)
	for i := 0; i <= n && s.Scan(); i++ {
		b.WriteString(s.Text() + "\n")
	}
	require.NoError(t, os.WriteFile(to, []byte(b.String()), 0o644))
}
