package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// Special tokens of a BERT vocabulary.
const (
	ClsToken  = "[CLS]"
	SepToken  = "[SEP]"
	PadToken  = "[PAD]"
	UnkToken  = "[UNK]"
	MaskToken = "[MASK]"
)

// Errors returned for unusable vocabularies, options and configuration files; test with errors.Is.
var (
	ErrEmptyVocab          = errors.New("tokenizer: empty vocabulary")
	ErrMissingSpecialToken = errors.New("tokenizer: vocabulary lacks a required special token")
	ErrDuplicateToken      = errors.New("tokenizer: duplicate token in vocabulary")
	ErrInvalidVocab        = errors.New("tokenizer: vocabulary file is not valid UTF-8")
	ErrInvalidOptions      = errors.New("tokenizer: invalid options")
	ErrInvalidConfig       = errors.New("tokenizer: invalid tokenizer_config.json")
)

// LoadVocab reads a vocab.txt file: one token per line, the zero-based line number being the
// token's id. Line ends are "\n", "\r\n" or "\r", as Python's universal newlines read them for
// transformers' load_vocab; nothing else is trimmed.
func LoadVocab(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load vocabulary: %w", err)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidVocab, path)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if text == "" {
		return nil, fmt.Errorf("%w: %s", ErrEmptyVocab, path)
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n"), nil
}
