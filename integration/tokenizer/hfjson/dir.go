package hfjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadDir loads the tokenizer of a checkpoint directory in Hugging Face layout: tokenizer.json
// when there is one, otherwise spm.model with the DebertaV2Tokenizer arguments of
// tokenizer_config.json (do_lower_case, split_by_punct, add_prefix_space and the special
// tokens' names).
func LoadDir(dir string) (*Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(path); err == nil {
		return Load(path)
	}
	path = filepath.Join(dir, "spm.model")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("hfjson: %s has neither tokenizer.json nor spm.model: %w", dir, fs.ErrNotExist)
	}
	opts, err := readSentencePieceConfig(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	return LoadSentencePiece(path, opts)
}

// specialName is a special token in tokenizer_config.json: "[CLS]" or {"content": "[CLS]", ...}.
type specialName string

func (s *specialName) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err == nil {
		*s = specialName(name)
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("special token %s is neither a string nor {\"content\": ...}", truncate(data))
	}
	*s = specialName(obj.Content)
	return nil
}

// readSentencePieceConfig reads the options of DebertaV2Tokenizer from tokenizer_config.json; a
// missing file means the defaults.
func readSentencePieceConfig(path string) (SentencePieceOptions, error) {
	var opts SentencePieceOptions
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return opts, nil
	}
	if err != nil {
		return opts, fmt.Errorf("hfjson: %w", err)
	}
	var cfg struct {
		DoLowerCase    bool        `json:"do_lower_case"`
		SplitByPunct   bool        `json:"split_by_punct"`
		AddPrefixSpace *bool       `json:"add_prefix_space"`
		Cls            specialName `json:"cls_token"`
		Sep            specialName `json:"sep_token"`
		Unk            specialName `json:"unk_token"`
		Pad            specialName `json:"pad_token"`
		Mask           specialName `json:"mask_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return opts, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return SentencePieceOptions{
		DoLowerCase:   cfg.DoLowerCase,
		SplitByPunct:  cfg.SplitByPunct,
		NoPrefixSpace: cfg.AddPrefixSpace != nil && !*cfg.AddPrefixSpace,
		Cls:           string(cfg.Cls), Sep: string(cfg.Sep), Unk: string(cfg.Unk), Pad: string(cfg.Pad), Mask: string(cfg.Mask),
	}, nil
}
