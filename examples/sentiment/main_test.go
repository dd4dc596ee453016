package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedDir is the shared data and models directory (../shared from the repository root).
const sharedDir = "../../../shared"

// tinyBert is a tiny checkpoint with a 3-class classifier.
const tinyBert = "../../integration/checkpoint/testdata/tiny-bert"

// glueDir writes a small GLUE-style directory taken from the embedded sample.
func glueDir(t *testing.T, nTrain, nDev int) string {
	t.Helper()
	train, dev, err := finetune.Sample()
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, n int, rows []string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("sentence\tlabel\n"+strings.Join(rows[:n], "\n")+"\n"), 0o644))
	}
	var tr, dv []string
	for _, e := range train {
		tr = append(tr, fmt.Sprintf("%s\t%d", e.Text, e.Label))
	}
	for _, e := range dev {
		dv = append(dv, fmt.Sprintf("%s\t%d", e.Text, e.Label))
	}
	write("train.tsv", nTrain, tr)
	write("dev.tsv", nDev, dv)
	return dir
}

// A short run on a small data directory prints its results and saves an adapter, which predict
// loads and which classifies sentences as the trained model does.
func TestTrainSavePredict(t *testing.T) {
	data := glueDir(t, 48, 16)
	save := filepath.Join(t.TempDir(), "adapter")
	f, err := parseTrainFlags([]string{"--data", data, "--steps", "4", "--batch", "8", "--save", save, "--seed", "2"}, &bytes.Buffer{})
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	res, err := trainAndSave(context.Background(), f, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := stdout.String()
	for _, want := range []string{
		"RANDOM weights", "--model DIR", "48 training sentences", "16 dev",
		"hra r=8 on query,value", "trainable: 20,866 of 518,914 parameters (4.02% of the base)",
		"4 steps", "dev:       accuracy", "saved:     " + save,
	} {
		assert.Contains(t, out, want)
	}
	assert.FileExists(t, filepath.Join(save, "adapter_config.json"))
	assert.FileExists(t, filepath.Join(save, "adapter_model.safetensors"))

	texts := []string{"a warm and funny film", "the plot is dull and the acting is wooden", "I loved it", "a complete waste of time"}
	want, err := finetune.Predict(res.Model, res.Tokenizer, texts, 128)
	require.NoError(t, err)
	names := []string{"negative", "positive"}

	var pout, perr bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), append([]string{"predict", "--adapter-dir", save}, texts...), nil, &pout, &perr), perr.String())
	lines := strings.Split(strings.TrimSpace(pout.String()), "\n")
	require.Len(t, lines, len(texts))
	for i, line := range lines {
		fields := strings.Split(line, "\t")
		require.Len(t, fields, 3, line)
		assert.Equal(t, names[want[i].Label], fields[0], texts[i])
		assert.Equal(t, fmt.Sprintf("%.3f", want[i].Probs[want[i].Label]), fields[1], texts[i])
		assert.Equal(t, texts[i], fields[2])
	}

	// The same from stdin, blank lines skipped.
	var sout bytes.Buffer
	stdin := strings.NewReader(strings.Join(texts, "\n\n") + "\n")
	require.Equal(t, exitOK, run(context.Background(), []string{"predict", "--adapter-dir", save}, stdin, &sout, &perr))
	assert.Equal(t, pout.String(), sout.String())
}

// The command as main runs it: exit status 0, results on stdout, plain progress lines on a
// stderr that is not a terminal.
func TestRunDefaultsWithFewSteps(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--steps", "12", "--save", ""}, nil, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Contains(t, stdout.String(), "520 training sentences (embedded sample/train.tsv), 128 dev")
	assert.Contains(t, stdout.String(), "dev:       accuracy")
	assert.NotContains(t, stdout.String(), "saved:")
	progress := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "ex/s") {
			progress++
			assert.NotContains(t, line, "\r")
		}
	}
	assert.Equal(t, 1+10, progress, "a line at the first step and every tenth:\n%s", stderr.String())
}

// Bad flags and bad input give exit status 2 and one line naming the problem (the file and line
// of a bad row), before any training.
func TestUsageErrors(t *testing.T) {
	tiny, err := filepath.Abs(tinyBert)
	require.NoError(t, err)
	dir := t.TempDir()
	t.Chdir(dir) // where the adapter would be saved by default
	file := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		return p
	}
	good := file("good.tsv", "sentence\tlabel", "a fine film\t1", "a bad film\t0")
	noTab := file("notab.tsv", "sentence\tlabel", "a fine film\t1", "no tab on this line")
	badLabel := file("badlabel.tsv", "sentence\tlabel", "a fine film\tpositive")
	empty := file("empty.tsv", "sentence\tlabel", "a fine film\t1", "", "\t0")
	threeLabels := file("three.tsv", "sentence\tlabel", "a fine film\t1", "a bad film\t0", "a so-so film\t2")
	fourLabels := file("four.tsv", "sentence\tlabel", "a fine film\t1", "\n", "a bad film\t3")
	pairs := file("pairs.tsv", "sentence1\tsentence2\tlabel", "a fine film\ta good film\tentailment", "a fine film\ta bad film\tnot_entailment")
	scores := file("scores.tsv", "sentence1\tsentence2\tscore", "a fine film\ta good film\t4.5", "a fine film\ta bad film\thigh")
	ignored := file("ignored.tsv", "sentence\tlabel", "a fine film\t1", "a bad film\t-100")
	conll := file("ner.txt", "EU NNP B-NP B-ORG", "rejects VBZ B-VP", "")
	conllIgnore := file("ner100.txt", "EU B-ORG", "rejects -100", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"--lr", "fast"}, `invalid value "fast" for flag -lr`},
		{"unknown adapter", []string{"--adapter", "prefix"}, `unknown method "prefix"`},
		{"head-only adapter", []string{"--adapter", "none"}, "choose hra, lora or oft"},
		{"odd paired HRA", []string{"--r", "3"}, "r"},
		{"lambda on LoRA", []string{"--adapter", "lora", "--lambda", "0.1"}, "HRA options"},
		{"negative epochs", []string{"--epochs", "-1"}, "must not be negative"},
		{"short max length", []string{"--max-len", "1"}, "--max-len 1"},
		{"bad dropout", []string{"--dropout", "1"}, "--dropout 1"},
		{"stray argument", []string{"great film"}, `unexpected argument "great film"`},
		{"missing data", []string{"--data", filepath.Join(dir, "missing.tsv")}, filepath.Join(dir, "missing.tsv")},
		{"missing dev file", []string{"--data", good, "--dev", filepath.Join(dir, "nodev.tsv")}, filepath.Join(dir, "nodev.tsv")},
		{"no tab", []string{"--data", noTab}, noTab + ":3: no tab between sentence and label"},
		{"label not an integer", []string{"--data", badLabel}, badLabel + `:2: label "positive" is not an integer`},
		{"empty sentence", []string{"--data", empty}, empty + ":4: empty sentence"},
		{"more labels than --num-labels", []string{"--data", threeLabels, "--num-labels", "2"}, threeLabels + ":4: label 2, but the model's head has 2 classes"},
		{"more labels than the checkpoint's head", []string{"--model", tiny, "--data", good, "--dev", fourLabels}, fourLabels + ":5: label 3, but the model's head has 3 classes"},
		{"missing model", []string{"--model", "./no-such-model"}, "no-such-model"},
		{"unknown task", []string{"--task", "summarise"}, `--task: finetune: invalid job: unknown task "summarise"`},
		{"missing pair column", []string{"--data", good, "--pair", "sentence2"}, good + `:1: header "sentence\tlabel" has no pair column "sentence2"`},
		{"class names not given", []string{"--data", pairs}, pairs + `:2: label "entailment" is not an integer`},
		{"unknown class name", []string{"--data", pairs, "--label-names", "entailment,neutral"}, pairs + `:3: label "not_entailment" is not one of the class names entailment, neutral`},
		{"repeated class name", []string{"--data", pairs, "--label-names", "yes,yes"}, `--label-names "yes,yes": want distinct`},
		{"non-numeric score", []string{"--task", "regress", "--data", scores}, scores + `:3: score "high" is not a finite number`},
		{"class names for scores", []string{"--task", "regress", "--data", scores, "--label-names", "a,b"}, "class names for a regression task"},
		{"label -100 in a TSV", []string{"--data", ignored}, ignored + ":3: label -100 is negative"},
		{"tokens without data", []string{"--task", "tokens"}, "the tokens task needs data"},
		{"malformed CoNLL line", []string{"--task", "tokens", "--data", conll}, conll + ":2: 3 columns, want 4 as on line 1"},
		{"tag -100 in CoNLL", []string{"--task", "tokens", "--data", conllIgnore}, conllIgnore + `:2: tag "-100" is transformers' ignore index`},
		{"TSV columns for tokens", []string{"--task", "tokens", "--data", good, "--pair", "x"}, "TSV columns for the tokens task"},
		{"unknown target", []string{"--targets", "qeury"}, "qeury"},
		{"predict: unknown flag", []string{"predict", "--bogus"}, "flag provided but not defined: -bogus"},
		{"predict: missing adapter", []string{"predict", "--adapter-dir", filepath.Join(dir, "none"), "text"}, filepath.Join(dir, "none")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			assert.Equal(t, exitUsage, code)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(last, "sentiment: "), last)
			assert.Contains(t, last, tt.want)
			for _, l := range lines[:len(lines)-1] { // only loading notes may come before
				assert.Regexp(t, `^(base|data|tokenised)`, l)
			}
			assert.Less(t, time.Since(start), 10*time.Second)
			assert.NoDirExists(t, filepath.Join(dir, "sentiment-adapter"))
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"predict", "-h"}} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, exitOK, run(context.Background(), args, nil, &stdout, &stderr))
		assert.Contains(t, stderr.String(), "Usage")
		assert.Contains(t, stderr.String(), "-adapter-dir")
	}
}

// A reduced run on the shared SST-2 data with the shared pretrained checkpoint.
func TestSST2Smoke(t *testing.T) {
	model, data := filepath.Join(sharedDir, "models/sst-bert-tiny"), filepath.Join(sharedDir, "data/sst2")
	for _, p := range []string{model, data} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping: %s not found (the shared data directory is absent)", p)
		}
	}
	save := filepath.Join(t.TempDir(), "sst2-adapter")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--model", model, "--data", data, "--train-limit", "320", "--dev-limit", "200",
		"--steps", "10", "--max-len", "64", "--adapter", "lora", "--save", save}, nil, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "sst-bert-tiny (2 layers, hidden 128, vocabulary 30522)")
	assert.Contains(t, out, "320 training sentences")
	assert.Contains(t, out, "200 dev")
	assert.Contains(t, out, "lora r=8 alpha=16")
	assert.Contains(t, out, "accuracy")
	var pout bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"predict", "--adapter-dir", save, "a gorgeous film"}, nil, &pout, &stderr), stderr.String())
	assert.Regexp(t, `^(negative|positive)\t[01]\.\d{3}\ta gorgeous film\n$`, pout.String())
}

func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 40)
	for step := 1; step <= 40; step++ {
		p.step(train.StepInfo{Step: step, Epoch: 1, Loss: 0.5, Examples: 8, Elapsed: time.Duration(step) * 10 * time.Millisecond})
		if step == 20 {
			p.evaluated(train.EvalInfo{Step: 20, Epoch: 1, Metrics: train.Metrics{Accuracy: 0.75}})
		}
	}
	p.done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 11)
	assert.Contains(t, lines[0], "step 1/40")
	assert.Contains(t, lines[10], "100% [████████████████████████] step 40/40 epoch 1  loss 0.5000  800 ex/s  0s left  dev acc 75.0% (step 20)")
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 518914: "518,914", 1234567: "1,234,567"} {
		assert.Equal(t, want, thousands(n))
	}
}
