package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTasks runs each task of --task briefly, saves its adapter and predicts with it: sentence
// pairs with class names, regression scores, and tags per word.
func TestTasks(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		return p
	}
	pairs := write("rte.tsv", "index\tsentence1\tsentence2\tlabel", "0\ta fine film\ta good film\tentailment",
		"1\ta fine film\ta dull film\tnot_entailment", "2\tgood\tbad\tnot_entailment", "3\tgood\tfine\tentailment")
	scores := write("sts.tsv", "index\tsentence1\tsentence2\tscore", "0\ta fine film\ta good film\t4.2", "1\tgood\tbad\t0.4", "2\tdull\tboring\t4.8", "3\ta film\tthe sea\t0")
	var ner []string
	for _, s := range []string{"anna B-PER|saw O|rome B-LOC", "the O|film O|by O|marco B-PER|rossi I-PER", "oslo B-LOC|is O|cold O"} {
		ner = append(append(ner, strings.Split(s, "|")...), "")
	}
	conll := write("ner.txt", ner...)
	for _, tc := range []struct {
		name       string
		args       []string
		out        string // in the training report
		input      string
		prediction string // a regular expression of predict's output
	}{
		{"pairs", []string{"--data", pairs, "--dev", pairs, "--label-names", "entailment,not_entailment"}, "4 training sentence pairs",
			"a fine film\ta good film", `^(entailment|not_entailment)\t[01]\.\d{3}\ta fine film\ta good film\n$`},
		{"regress", []string{"--task", "regress", "--data", scores, "--dev", scores}, "dev:       Pearson ",
			"good\tbad", `^-?\d+\.\d{3}\tgood\tbad\n$`},
		{"tokens", []string{"--task", "tokens", "--data", conll, "--dev", conll}, "dev:       entity F1 ",
			"anna saw oslo", `^anna\t(B-LOC|B-PER|I-PER|O)\nsaw\t(B-LOC|B-PER|I-PER|O)\noslo\t(B-LOC|B-PER|I-PER|O)\n\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			save := filepath.Join(dir, tc.name)
			var stdout, stderr bytes.Buffer
			args := append([]string{"--steps", "2", "--batch", "2", "--r", "2", "--save", save}, tc.args...)
			require.Equal(t, exitOK, run(context.Background(), args, nil, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), tc.out)
			var pout bytes.Buffer
			require.Equal(t, exitOK, run(context.Background(), []string{"predict", "--adapter-dir", save, tc.input}, nil, &pout, &stderr), stderr.String())
			assert.Regexp(t, tc.prediction, pout.String())
		})
	}
}
