package hfjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// vocabDir writes a checkpoint directory holding only the vocab.txt (and a tokenizer_config.json
// with do_lower_case) of testdata/wordpiece-cased.json, as testdata/make_vocab_fixtures.py does.
func vocabDir(t *testing.T, lower bool) string {
	t.Helper()
	var raw struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(readTestdata(t, "wordpiece-cased.json"), &raw); err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(raw.Model.Vocab))
	for tok, id := range raw.Model.Vocab {
		lines[id] = tok
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "vocab.txt"), strings.Join(lines, "\n")+"\n")
	writeFile(t, filepath.Join(dir, "tokenizer_config.json"), fmt.Sprintf(`{"do_lower_case": %v}`, lower))
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAutoPicks checks the order in which Auto looks for a tokenizer: tokenizer.json, spm.model,
// vocab.txt.
func TestAutoPicks(t *testing.T) {
	withJSON := vocabDir(t, false)
	writeFile(t, filepath.Join(withJSON, "tokenizer.json"), string(readTestdata(t, "wordpiece-cased.json")))
	withSPM := t.TempDir()
	writeFile(t, filepath.Join(withSPM, "spm.model"), string(readTestdata(t, "spm.model.gz")))
	writeFile(t, filepath.Join(withSPM, "vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
	for _, tc := range []struct {
		name, dir string
		want      string // the type of the tokenizer
		fixture   string
	}{
		{"tokenizer.json over vocab.txt", withJSON, "*hfjson.Tokenizer", "wordpiece-cased"},
		{"spm.model over vocab.txt", withSPM, "*hfjson.Tokenizer", "spm"},
		{"vocab.txt alone", vocabDir(t, false), "*hfjson.Tokenizer", "vocabtxt-cased"},
		{"vocab.txt alone, uncased", vocabDir(t, true), "*hfjson.Tokenizer", "vocabtxt-uncased"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := Auto(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(enc); got != tc.want {
				t.Fatalf("Auto gave a %s, want a %s", got, tc.want)
			}
			diffs, n := mismatches(t, enc, tc.fixture)
			if len(diffs) > 0 {
				t.Errorf("%d of %d encodings differ from HF's:\n%s", len(diffs), n, strings.Join(diffs, "\n"))
			}
		})
	}
}

func typeName(enc tokenizer.Encoder) string {
	switch enc.(type) {
	case *Tokenizer:
		return "*hfjson.Tokenizer"
	}
	return "?"
}

// TestAutoNone checks the error for a directory without a tokenizer.
func TestAutoNone(t *testing.T) {
	_, err := Auto(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no tokenizer.json, spm.model or vocab.txt") {
		t.Fatalf("Auto(empty dir) = %v, want fs.ErrNotExist naming the three files", err)
	}
}

// TestLoadVocabDirErrors checks the one-line errors for a vocab.txt that cannot make a
// BertTokenizer and for a broken tokenizer_config.json.
func TestLoadVocabDirErrors(t *testing.T) {
	for _, tt := range []struct{ name, vocab, config, want string }{
		{"no [SEP]", "[PAD]\n[UNK]\n[CLS]\nthe\n", "", "vocab.txt has no [SEP]"},
		{"duplicate token", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nthe\n", "", `token "the" appears twice`},
		{"bad config", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n", `{"do_lower_case": "yes"}`, "tokenizer_config.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "vocab.txt"), tt.vocab)
			if tt.config != "" {
				writeFile(t, filepath.Join(dir, "tokenizer_config.json"), tt.config)
			}
			_, err := Auto(dir)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Auto = %v, want one line wrapping ErrInvalid with %q", err, tt.want)
			}
		})
	}
}
