package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/peft"
)

// predictBatch is how many sentences predict classifies at once: stdin is read and answered in
// batches, so that a long stream needs no more memory than a batch.
const predictBatch = 64

// runPredict loads a saved adapter and classifies the sentences in args, or else each line of
// stdin, printing one "label<TAB>probability<TAB>sentence" line per sentence ("score<TAB>sentence"
// for a regression adapter); a sentence with a tab is a sentence pair. Empty sentences
// (arguments or lines) are skipped, and a note on stderr says how many; no sentence at all is
// an error.
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
				"Classifies each sentence argument, or each line of stdin when there is none; empty ones are skipped.\n"+
				"A sentence with a tab is a sentence pair; a regression adapter prints a score instead of a class; a token\n"+
				"classifier (--task tokens) prints each word and its tag on a line, a blank line after each sentence.\n\nFlags:\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			fmt.Fprint(stderr, "\nExit status: 0 success; 2 bad flags, adapter (or its base) or input, or no sentence at all; 1 classifying failed; 130 interrupted.\n")
			return errHelp
		}
		return usageError{fmt.Errorf("predict: %w (see predict --help)", err)}
	}
	if *maxLen < 2 {
		return usageError{fmt.Errorf("predict: --max-len %d: want at least 2", *maxLen)}
	}
	var texts []string
	var skipped []string
	for i, a := range fs.Args() {
		if strings.TrimSpace(a) == "" {
			skipped = append(skipped, fmt.Sprint(i+1))
		} else {
			texts = append(texts, a)
		}
	}
	if fs.NArg() > 0 && len(texts) == 0 {
		return usageError{errors.New("predict: every sentence argument is empty")}
	}
	m, tok, base, err := finetune.LoadAdapter(ctx, *dir, *model, checkpoint.DownloadOptions{Progress: downloadProgress(stderr)})
	if errors.Is(err, finetune.ErrRecordedBase) {
		err = fmt.Errorf("%w; pass --model with the base's directory or hub name", err)
	}
	if err != nil {
		return usageError{fmt.Errorf("predict: %w", err)}
	}
	if base == finetune.DefaultBaseName {
		note := "base: the offline default BERT with RANDOM weights"
		if md, err := peft.LoadAdapterMetadata(*dir); err == nil && md[finetune.MetaBaseFingerprint] != "" {
			note += " (the adapter was trained on it: their fingerprints match)"
		}
		fmt.Fprintln(stderr, note)
	}
	names, err := savedNames(*dir, m)
	if err != nil {
		return usageError{fmt.Errorf("predict: %w", err)}
	}
	limit := min(*maxLen, m.Config().MaxPositionEmbeddings)
	classify := func(batch []string) error {
		if m.TokenClassification() {
			return tagWords(stdout, m, tok, batch, names, limit)
		}
		preds, err := predictMixed(m, tok, batch, limit)
		if err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		for i, p := range preds {
			if m.NumLabels() == 1 {
				fmt.Fprintf(stdout, "%.3f\t%s\n", p.Score, batch[i])
				continue
			}
			fmt.Fprintf(stdout, "%s\t%.3f\t%s\n", names[p.Label], p.Probs[p.Label], batch[i])
		}
		return nil
	}
	if fs.NArg() > 0 {
		if len(skipped) > 0 {
			fmt.Fprintf(stderr, "predict: skipped %d empty sentence arguments (%s)\n", len(skipped), strings.Join(skipped, ", "))
		}
		for lo := 0; lo < len(texts); lo += predictBatch {
			if err := classify(texts[lo:min(lo+predictBatch, len(texts))]); err != nil {
				return err
			}
		}
		return nil
	}

	classified, blank := 0, 0
	err = dataset.ScanLines(stdin, "stdin", func(_ int, line string) error {
		if line = strings.TrimSpace(line); line == "" {
			blank++
			return nil
		}
		if texts = append(texts, line); len(texts) == predictBatch {
			classified += len(texts)
			err := classify(texts)
			texts = texts[:0]
			return err
		}
		return ctx.Err()
	})
	if err == nil && len(texts) > 0 {
		classified += len(texts)
		err = classify(texts)
	}
	switch {
	case err != nil && errors.Is(err, dataset.ErrMalformed):
		return usageError{fmt.Errorf("predict: %w", err)}
	case err != nil:
		return err
	case classified == 0:
		return usageError{errors.New("predict: no sentences: give them as arguments, or as lines on stdin")}
	case blank > 0:
		fmt.Fprintf(stderr, "predict: skipped %d empty lines of stdin\n", blank)
	}
	return nil
}

// savedNames returns the class names (a token classifier's tags) the adapter in dir records,
// else labelNames' (label-i for a token classifier's tags).
func savedNames(dir string, m *bert.Model) ([]string, error) {
	names, err := finetune.LabelNames(dir)
	n := m.NumLabels()
	switch {
	case err != nil:
		return nil, err
	case names == nil && m.TokenClassification():
		names = make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("label-%d", i)
		}
		return names, nil
	case names == nil:
		return labelNames(m.Config(), n), nil
	case len(names) != n:
		return nil, fmt.Errorf("%s records %d class names for a head of %d", dir, len(names), n)
	}
	return names, nil
}

// tagWords tags the words (split at white space) of each sentence and prints one
// "word<TAB>tag" line per word, a blank line after each sentence, as CoNLL files are laid out.
func tagWords(w io.Writer, m *bert.Model, tok tokenizer.Encoder, batch []string, names []string, maxLen int) error {
	sentences := make([][]string, len(batch))
	for i, s := range batch {
		sentences[i] = strings.Fields(s)
	}
	tags, err := finetune.PredictTokens(m, tok, sentences, names, maxLen)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	for i, words := range sentences {
		for j, word := range words {
			fmt.Fprintf(w, "%s\t%s\n", word, tags[i][j])
		}
		fmt.Fprintln(w)
	}
	return nil
}

// predictMixed predicts each of texts in order: a text with a tab is the sentence pair on either
// side of its first tab, any other a single sentence.
func predictMixed(m *bert.Model, tok tokenizer.Encoder, texts []string, maxLen int) ([]finetune.Prediction, error) {
	var single, pairIdx []int
	var singles []string
	var pairs [][2]string
	for i, t := range texts {
		if a, b, ok := strings.Cut(t, "\t"); ok {
			pairIdx, pairs = append(pairIdx, i), append(pairs, [2]string{a, b})
		} else {
			single, singles = append(single, i), append(singles, t)
		}
	}
	out := make([]finetune.Prediction, len(texts))
	if len(singles) > 0 {
		preds, err := finetune.Predict(m, tok, singles, maxLen)
		if err != nil {
			return nil, err
		}
		for k, i := range single {
			out[i] = preds[k]
		}
	}
	if len(pairs) > 0 {
		preds, err := finetune.PredictPairs(m, tok, pairs, maxLen)
		if err != nil {
			return nil, err
		}
		for k, i := range pairIdx {
			out[i] = preds[k]
		}
	}
	return out, nil
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
