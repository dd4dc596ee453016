package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"
)

// runCompare runs the command and returns its exit code, stdout and stderr.
func runCompare(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// paramCounts computes, from the default base's config, the trainable parameters each method
// should have with the adapters on targets modules per layer (square hidden×hidden layers) and
// the default hyper-parameters: HRA r·in, LoRA r·(in+out), OFT (in/b)·b(b−1)/2 per module, plus
// the head (pooler and classifier); full fine-tuning trains all of the base.
func paramCounts(t *testing.T, targets, hraR, loraR, oftBlock int) (want map[string]int, base int) {
	t.Helper()
	ck, _, err := finetune.DefaultBase()
	require.NoError(t, err)
	c := ck.Config
	h, inter, layers, labels := c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, 2
	head := h*h + h + labels*h + labels
	modules := targets * layers
	embeddings := (c.VocabSize+c.MaxPositionEmbeddings+c.TypeVocabSize)*h + 2*h
	layer := 4*(h*h+h) + 2*h + (h*inter + inter) + (inter*h + h) + 2*h
	base = embeddings + layers*layer + head
	return map[string]int{
		finetune.KindHRA:  modules*hraR*h + head,
		finetune.KindLoRA: modules*loraR*(h+h) + head,
		finetune.KindOFT:  modules*(h/oftBlock)*oftBlock*(oftBlock-1)/2 + head,
		finetune.KindHead: head,
		finetune.KindFull: base,
	}, base
}

func TestCompareEveryMethod(t *testing.T) {
	tests := []struct {
		name                       string
		flags                      []string
		methods                    []string
		targets, hraR, loraR, oftB int
		configs                    []string
	}{
		{"defaults", nil, finetune.Kinds, 2, 8, 8, 32,
			[]string{"r=8 lambda=0.0001", "r=8 alpha=16", "block=32", "pooler + classifier", "every weight"}},
		{"options", []string{"--methods", "oft,lora,hra", "--targets", "query,key,value", "--hra-r", "4", "--hra-gs",
			"--lora-r", "2", "--lora-alpha", "4", "--oft-block", "16", "--lr", "0.01", "--lr-hra", "0.005"},
			[]string{"oft", "lora", "hra"}, 3, 4, 2, 16,
			[]string{"block=16", "r=2 alpha=4", "r=4 gs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			args := append([]string{"--steps", "3", "--batch", "8", "--eval-every", "2", "--max-len", "32", "--out", out}, tt.flags...)
			code, stdout, stderr := runCompare(t, args...)
			require.Equal(t, exitOK, code, stderr)
			want, base := paramCounts(t, tt.targets, tt.hraR, tt.loraR, tt.oftB)

			var rep report
			b, err := os.ReadFile(filepath.Join(out, jsonFile))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &rep))
			assert.True(t, rep.RandomBase)
			assert.Equal(t, 3, rep.Budget.Steps)
			require.Len(t, rep.Methods, len(tt.methods))
			for i, r := range rep.Methods {
				assert.Equal(t, tt.methods[i], r.Method)
				assert.Equal(t, tt.configs[i], r.Config)
				assert.Equal(t, want[r.Method], r.Trainable, "%s trainable parameters", r.Method)
				assert.Equal(t, base, r.BaseParams, "%s base parameters", r.Method)
				assert.InDelta(t, 100*float64(r.Trainable)/float64(base), r.PercentOfBase, 1e-9)
				assert.Equal(t, 3, r.Steps)
				assert.Len(t, r.TrainLoss, 3)
				require.Len(t, r.Evals, 2)
				assert.Equal(t, []int{2, 3}, []int{r.Evals[0].Step, r.Evals[1].Step})
				assert.Equal(t, r.Evals[1].Accuracy, r.DevAccuracy)
				assert.InDelta(t, (r.TrainLoss[0]+r.TrainLoss[1]+r.TrainLoss[2])/3, r.FinalTrainLoss, 1e-12)
				assert.Positive(t, r.StepMillis)
				if runtime.GOOS != "windows" {
					assert.Positive(t, r.CPUStepMillis)
				}
				assert.Positive(t, r.PeakHeapBytes)
				assert.Contains(t, stdout, "| "+displayName(r.Method)+" | "+r.Config+" | ")
			}
			if tt.name == "options" {
				assert.Equal(t, []float64{0.01, 0.01, 0.005}, []float64{rep.Methods[0].LR, rep.Methods[1].LR, rep.Methods[2].LR})
			}

			f, err := os.Open(filepath.Join(out, csvFile))
			require.NoError(t, err)
			defer f.Close()
			records, err := csv.NewReader(f).ReadAll()
			require.NoError(t, err)
			require.Len(t, records, len(tt.methods)+1)
			assert.Equal(t, csvHeader, records[0])
			for i, rec := range records[1:] {
				r := rep.Methods[i]
				assert.Equal(t, []string{r.Method, r.Config, strconv.Itoa(r.Trainable)}, []string{rec[0], rec[1], rec[3]})
				acc, err := strconv.ParseFloat(rec[6], 64)
				require.NoError(t, err)
				assert.Equal(t, r.DevAccuracy, acc)
			}

			img, err := os.Open(filepath.Join(out, plotFile))
			require.NoError(t, err)
			defer img.Close()
			cfg, err := png.DecodeConfig(img)
			require.NoError(t, err, "curves.png is not a PNG")
			assert.Equal(t, []int{int(plotWidth / vg.Inch * plotDPI), int(plotHeight / vg.Inch * plotDPI)}, []int{cfg.Width, cfg.Height})
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "bad")
	require.NoError(t, os.Mkdir(malformed, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(malformed, "train.tsv"), []byte("sentence\tlabel\ngood film\t1\nno tab here\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(malformed, "dev.tsv"), []byte("sentence\tlabel\nfine\t0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "three.tsv"), []byte("sentence\tlabel\nfine\t2\n"), 0o644))

	tests := []struct {
		name  string
		args  []string
		msg   string
		loads bool // fails after loading the base, whose progress lines come first
	}{
		{"unknown flag", []string{"--epoch", "3"}, "flag provided but not defined: -epoch", false},
		{"steps and epochs", []string{"--epochs", "1"}, "--epochs and --steps both set", false},
		{"dropout 1", []string{"--dropout", "1"}, "--dropout 1", false},
		{"attention dropout", []string{"--attention-dropout", "-0.1"}, "--attention-dropout -0.1", false},
		{"negative clip", []string{"--clip", "-1"}, "--clip -1", false},
		{"negative weight decay", []string{"--weight-decay", "-0.01"}, "--weight-decay -0.01", false},
		{"warm-up beyond 1", []string{"--warmup", "1.5"}, "--warmup 1.5", false},
		{"no seeds", []string{"--seeds", "0"}, "--seeds 0", false},
		{"bad sweep", []string{"--lr-sweep", "1,x"}, `factor "x"`, false},
		{"missing test file", []string{"--test", filepath.Join(dir, "none.tsv")}, filepath.Join(dir, "none.tsv"), true},
		{"test labels", []string{"--test", filepath.Join(dir, "three.tsv")}, "labels up to 2", true},
		{"not a number", []string{"--steps", "many"}, "invalid value \"many\" for flag -steps", false},
		{"no steps", []string{"--steps", "0"}, "--steps 0", false},
		{"argument", []string{"hra"}, `unexpected argument "hra"`, false},
		{"unknown method", []string{"--methods", "hra,adalora"}, `unknown method "adalora"`, false},
		{"odd hra rank", []string{"--hra-r", "3"}, "r = 3 is odd", false},
		{"lambda with gs", []string{"--hra-gs", "--hra-lambda", "0.1"}, "--hra-lambda has no effect with --hra-gs", false},
		{"negative lr", []string{"--lr", "-1"}, "--lr -1", false},
		{"zero method lr", []string{"--lr-full", "0"}, "--lr-full 0", false},
		{"no output", []string{"--out", ""}, "--out is empty", false},
		{"missing data", []string{"--data", filepath.Join(dir, "nothing")}, filepath.Join(dir, "nothing"), true},
		{"malformed data", []string{"--data", malformed}, filepath.Join(malformed, "train.tsv") + ":3", true},
		{"missing model", []string{"--model", filepath.Join(dir, "no-model")}, filepath.Join(dir, "no-model"), true},
		{"unknown target", []string{"--targets", "q_proj"}, `"q_proj"`, true},
		{"oft block", []string{"--methods", "oft", "--oft-block", "48"}, "oft_block_size = 48 does not divide", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			code, stdout, stderr := runCompare(t, append([]string{"--steps", "1", "--out", out}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(last, "compare: "), "error line %q", last)
			assert.Contains(t, last, tt.msg)
			if !tt.loads {
				assert.Len(t, lines, 1, "the error alone")
			}
			assert.NoDirExists(t, out)
		})
	}
}

func TestHelp(t *testing.T) {
	code, stdout, stderr := runCompare(t, "--help")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "-hra-lambda")
	assert.Contains(t, stderr, "RANDOM weights")
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 4337026: "4,337,026", -12345: "-12,345"} {
		assert.Equal(t, want, groupDigits(n))
	}
}
