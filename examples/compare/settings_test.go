package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSettings runs two methods for one epoch with every training setting, two seeds, a
// learning-rate sweep, a test file and a trace, and checks what the report and trace say.
func TestSettings(t *testing.T) {
	dir := t.TempDir()
	test := filepath.Join(dir, "test.tsv")
	require.NoError(t, os.WriteFile(test, []byte("sentence\tlabel\na warm and funny film\t1\na dull mess\t0\nlovely\t1\n"), 0o644))
	out, trace := filepath.Join(dir, "results"), filepath.Join(dir, "trace.jsonl")
	code, stdout, stderr := runCompare(t, "--methods", "lora,head", "--epochs", "1", "--train-limit", "40", "--batch", "8",
		"--max-len", "32", "--seeds", "2", "--lr-sweep", "0.5,1", "--test", test, "--trace", trace,
		"--dropout", "0.1", "--attention-dropout", "0.05", "--clip", "0", "--weight-decay", "0.01", "--warmup", "0", "--out", out)
	require.Equal(t, exitOK, code, stderr)

	var rep report
	b, err := os.ReadFile(filepath.Join(out, jsonFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	bu := rep.Budget
	assert.Equal(t, []int{1, 5, 5}, []int{bu.Epochs, bu.StepsPerEpoch, bu.Steps}, "one epoch of 40 examples in batches of 8")
	assert.Equal(t, []float64{0.1, 0.05, 0, 0.01, 0}, []float64{bu.Dropout, bu.AttentionDropout, bu.Clip, bu.WeightDecay, bu.Warmup})
	assert.Equal(t, 3, rep.TestExamples)
	assert.Contains(t, stdout, "Test acc")
	assert.Contains(t, stdout, "clip none")
	assert.Contains(t, stdout, "Learning-rate sweep")
	require.Len(t, rep.Methods, 2)
	for _, r := range rep.Methods {
		assert.Equal(t, []uint64{42, 43}, r.Seeds)
		require.Len(t, r.DevAccuracies, 2)
		require.Len(t, r.TestAccuracies, 2)
		mean, std := meanStd(r.DevAccuracies)
		assert.Equal(t, []float64{mean, std}, []float64{r.DevAccuracy, r.DevStd})
		require.Len(t, r.Sweep, 2)
		base := r.Sweep[1].LR
		assert.InDelta(t, base/2, r.Sweep[0].LR, 1e-15)
		best := r.Sweep[0]
		if r.Sweep[1].DevMean > best.DevMean {
			best = r.Sweep[1]
		}
		assert.Equal(t, best.LR, r.LR, "reported at its best dev learning rate")
		assert.Equal(t, best.DevAccuracies, r.DevAccuracies)
		assert.Positive(t, r.EpochSeconds)
		assert.Contains(t, stdout, "| "+displayName(r.Method)+" | ")
	}

	// The trace holds each method's first run (seed 42, the sweep's first rate): 5 steps whose
	// batches cover the 40 examples once.
	f, err := os.Open(trace)
	require.NoError(t, err)
	defer f.Close()
	steps := map[string][]traceStep{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s traceStep
		require.NoError(t, json.Unmarshal(sc.Bytes(), &s))
		steps[s.Method] = append(steps[s.Method], s)
	}
	require.NoError(t, sc.Err())
	for _, method := range []string{"lora", "head"} {
		require.Len(t, steps[method], 5, method)
		var seen []int
		for i, s := range steps[method] {
			assert.Equal(t, i+1, s.Step)
			assert.Equal(t, uint64(42), s.Seed)
			assert.Positive(t, s.GradNorm)
			seen = append(seen, s.Batch...)
		}
		slices.Sort(seen)
		for i := range seen {
			assert.Equal(t, i, seen[i], "%s: batches cover every example once", method)
		}
	}
}

func TestMeanStd(t *testing.T) {
	tests := []struct {
		xs        []float64
		mean, std float64
	}{
		{[]float64{0.5}, 0.5, 0},
		{[]float64{1, 3}, 2, 1.4142135623730951},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 2.138089935299395},
	}
	for _, tt := range tests {
		mean, std := meanStd(tt.xs)
		assert.InDelta(t, tt.mean, mean, 1e-12)
		assert.InDelta(t, tt.std, std, 1e-12)
	}
}

// TestSettingsChangeTraining checks that each training setting reaches the training: a run
// repeats exactly, and changing one setting changes the dev loss.
func TestSettingsChangeTraining(t *testing.T) {
	devLoss := func(t *testing.T, flags ...string) float64 {
		t.Helper()
		out := filepath.Join(t.TempDir(), "results")
		args := append([]string{"--methods", "lora", "--steps", "4", "--batch", "8", "--max-len", "32", "--workers", "1",
			"--warmup", "0.5", "--out", out}, flags...)
		code, _, stderr := runCompare(t, args...)
		require.Equal(t, exitOK, code, stderr)
		var rep report
		b, err := os.ReadFile(filepath.Join(out, jsonFile))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &rep))
		return rep.Methods[0].DevLoss
	}
	base := devLoss(t)
	require.Equal(t, base, devLoss(t), "a run repeats exactly")
	for _, flags := range [][]string{
		{"--clip", "0.001"},
		{"--weight-decay", "10"},
		{"--warmup", "0"},
		{"--dropout", "0.3"},
		{"--attention-dropout", "0.3"},
	} {
		assert.NotEqual(t, base, devLoss(t, flags...), "%v changes training", flags)
	}
}
