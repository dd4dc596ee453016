package hfjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// vocabConfig is the part of tokenizer_config.json that transformers' BertTokenizer reads.
type vocabConfig struct {
	DoLowerCase          *bool `json:"do_lower_case"`
	StripAccents         *bool `json:"strip_accents"`
	TokenizeChineseChars *bool `json:"tokenize_chinese_chars"`
}

// LoadVocabDir loads dir/vocab.txt (and the options of dir/tokenizer_config.json: do_lower_case,
// default true; strip_accents; tokenize_chinese_chars) as transformers 5's BertTokenizer does: the
// `tokenizers` pipeline BertNormalizer, BertPreTokenizer, WordPiece and [CLS] $A [SEP] $B [SEP],
// with [PAD], [UNK], [CLS], [SEP] and [MASK] as special tokens. Unlike package tokenizer's
// Tokenizer (the legacy Python BertTokenizer), pairs are truncated as `tokenizers` does; as in
// transformers, a pair with an empty second text is encoded as the first alone.
func LoadVocabDir(dir string) (*Tokenizer, error) {
	vocab, err := tokenizer.LoadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, err
	}
	var cfg vocabConfig
	path := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("hfjson: %w", err)
	default:
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
		}
	}
	ids := make(map[string]int, len(vocab))
	for id, tok := range vocab {
		if _, dup := ids[tok]; dup {
			return nil, fmt.Errorf("%w: %s: token %q appears twice", ErrInvalid, dir, tok)
		}
		ids[tok] = id
	}
	var added []map[string]any
	for _, s := range []string{tokenizer.PadToken, tokenizer.UnkToken, tokenizer.ClsToken, tokenizer.SepToken, tokenizer.MaskToken} {
		id, ok := ids[s]
		if !ok {
			if s == tokenizer.MaskToken {
				continue
			}
			return nil, fmt.Errorf("%w: %s/vocab.txt has no %s", ErrInvalid, dir, s)
		}
		added = append(added, map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true})
	}
	file := map[string]any{
		"added_tokens": added,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": cfg.TokenizeChineseChars == nil || *cfg.TokenizeChineseChars,
			"strip_accents":        cfg.StripAccents, "lowercase": cfg.DoLowerCase == nil || *cfg.DoLowerCase},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"model": map[string]any{"type": "WordPiece", "unk_token": tokenizer.UnkToken, "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids},
		"post_processor": map[string]any{"type": "BertProcessing",
			"sep": []any{tokenizer.SepToken, ids[tokenizer.SepToken]}, "cls": []any{tokenizer.ClsToken, ids[tokenizer.ClsToken]}},
	}
	data, err = json.Marshal(file)
	if err != nil {
		return nil, fmt.Errorf("hfjson: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("hfjson: %s: %w", dir, err)
	}
	t.dropEmptyPair = true // transformers encodes (a, "") as a alone
	return t, nil
}
