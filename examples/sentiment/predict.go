package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/finetune"
)

// runPredict loads a saved adapter and classifies the sentences in args, or else each non-empty
// line of stdin, printing one "label<TAB>probability<TAB>sentence" line per sentence.
func runPredict(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sentiment predict", flag.ContinueOnError)
	dir := fs.String("adapter-dir", "sentiment-adapter", "directory of the saved adapter")
	model := fs.String("model", "", "base model (default: the one the adapter records)")
	maxLen := fs.Int("max-len", 128, "longest token sequence; longer sentences are truncated")
	fs.Usage = func() {} // as in parseTrainFlags
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, "Usage: sentiment predict [--adapter-dir DIR] [--model M] [sentence ...]\n"+
				"Classifies each sentence argument, or each line of stdin when there is none.\n\nFlags:\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return errHelp
		}
		return usageError{fmt.Errorf("predict: %w (see predict --help)", err)}
	}
	if *maxLen < 2 {
		return usageError{fmt.Errorf("predict: --max-len %d: want at least 2", *maxLen)}
	}
	texts := fs.Args()
	if len(texts) == 0 {
		var err error
		if texts, err = readLines(stdin); err != nil {
			return fmt.Errorf("predict: reading stdin: %w", err)
		}
	}
	m, tok, base, err := finetune.LoadAdapter(ctx, *dir, *model, checkpoint.DownloadOptions{Progress: downloadProgress(stderr)})
	if err != nil {
		return usageError{fmt.Errorf("predict: %w", err)}
	}
	if base == finetune.DefaultBaseName {
		fmt.Fprintln(stderr, "base: the offline default BERT with RANDOM weights (the adapter was trained on it)")
	}
	preds, err := finetune.Predict(m, tok, texts, min(*maxLen, m.Config().MaxPositionEmbeddings))
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	names := labelNames(m.Config(), m.NumLabels())
	for i, p := range preds {
		fmt.Fprintf(stdout, "%s\t%.3f\t%s\n", names[p.Label], p.Probs[p.Label], texts[i])
	}
	return nil
}

// labelNames names the n classes: as the base's config does if it names n classes other than
// transformers' placeholders LABEL_i, else negative and positive for two (label 1 is positive, as
// in SST-2), else label-i.
func labelNames(cfg checkpoint.Config, n int) []string {
	names := make([]string, n)
	named := len(cfg.ID2Label) == n
	for i := range names {
		names[i] = cfg.ID2Label[i]
		named = named && names[i] != "" && names[i] != fmt.Sprintf("LABEL_%d", i)
	}
	switch {
	case named:
		return names
	case n == 2:
		return []string{"negative", "positive"}
	}
	for i := range names {
		names[i] = fmt.Sprintf("label-%d", i)
	}
	return names
}

// readLines returns the non-empty lines of r, trimmed.
func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	return lines, sc.Err()
}
