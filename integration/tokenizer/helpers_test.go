package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

// Paths of the shared, read-only project data, relative to this package.
var (
	sharedVocabPath = filepath.Join("..", "..", "..", "shared", "data", "vocab", "bert-base-uncased-vocab.txt")
	sharedModelDir  = filepath.Join("..", "..", "..", "shared", "models", "sst-bert-tiny")
	sharedSST2Train = filepath.Join("..", "..", "..", "shared", "data", "sst2", "train.tsv")
)

// requireFile skips the test when the shared file at path is absent.
func requireFile(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("shared data %s not available (%v); it lives in ../shared beside the repository", path, err)
	}
}

// bertUncased loads bert-base-uncased from the shared vocabulary, skipping if absent.
func bertUncased(tb testing.TB, opts Options) *Tokenizer {
	tb.Helper()
	requireFile(tb, sharedVocabPath)
	vocab, err := LoadVocab(sharedVocabPath)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := New(vocab, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// tinyVocab is a hand-made vocabulary for tests that must run without the shared data.
var tinyVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"the", "cat", "sat", "on", "mat", "un", "##aff", "##able", "well", "known", "-", ".", ",", "!",
	"'", "don", "t", "s", "a", "##b", "##c", "cafe", "café", "é", "e", "οδοσ", "οδος", "cd", "中", "文",
	"hello", "world", "foo", "##bar", "i", "##stanbul", "i\u0307", "one", "two", "three", "four", "five", "six",
	"seven", "eight", "nine", "ten",
}

func tinyTokenizer(tb testing.TB, opts Options) *Tokenizer {
	tb.Helper()
	tok, err := New(tinyVocab, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func ptr[T any](v T) *T { return &v }

// writeFile writes content to dir/name.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
