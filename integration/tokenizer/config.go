package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// unknownMaxLength is the threshold above which model_max_length is HF's "no limit" placeholder
// (transformers writes int(1e30) when a checkpoint sets none).
const unknownMaxLength = 1 << 31

// tokenizerConfig is the part of tokenizer_config.json that a BertTokenizer reads.
type tokenizerConfig struct {
	DoLowerCase          *bool    `json:"do_lower_case"`
	StripAccents         *bool    `json:"strip_accents"`
	TokenizeChineseChars *bool    `json:"tokenize_chinese_chars"`
	NeverSplit           []string `json:"never_split"`
	ModelMaxLength       *float64 `json:"model_max_length"`
}

// FromDir loads a tokenizer saved in HF layout: dir/vocab.txt and, optionally,
// dir/tokenizer_config.json (do_lower_case, default true as in HF; strip_accents;
// tokenize_chinese_chars; never_split; model_max_length).
func FromDir(dir string) (*Tokenizer, error) {
	vocab, err := LoadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	opts := Options{
		DoLowerCase:          true,
		StripAccents:         cfg.StripAccents,
		TokenizeChineseChars: cfg.TokenizeChineseChars,
		NeverSplit:           cfg.NeverSplit,
	}
	if cfg.DoLowerCase != nil {
		opts.DoLowerCase = *cfg.DoLowerCase
	}
	t, err := New(vocab, opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", dir, err)
	}
	if m := cfg.ModelMaxLength; m != nil && *m < unknownMaxLength {
		t.maxLen = int(*m)
	}
	return t, nil
}

// readConfig parses path; a missing file is an empty configuration.
func readConfig(path string) (tokenizerConfig, error) {
	var cfg tokenizerConfig
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("tokenizer: read config: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, path, err)
	}
	if m := cfg.ModelMaxLength; m != nil && (*m <= 0 || *m != math.Trunc(*m)) {
		return cfg, fmt.Errorf("%w: %s: model_max_length %v is not a positive integer", ErrInvalidConfig, path, *m)
	}
	return cfg, nil
}
