package hfjson

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// miniWordPiece is a complete tokenizer.json small enough to edit in tests.
const miniWordPiece = `{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "decoder": null,
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6, ",": 7, "!": 8}}
}`

// miniBPE is a BPE tokenizer.json with an unknown token.
const miniBPE = `{
  "added_tokens": [],
  "pre_tokenizer": {"type": "WhitespaceSplit"},
  "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true,
    "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "abb": 4},
    "merges": ["a b", ["ab", "b"]]}
}`

// miniUnigram is a Unigram tokenizer.json.
const miniUnigram = `{
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
  "model": {"type": "Unigram", "unk_id": 0,
    "vocab": [["<unk>", 0], ["▁", -2], ["a", -3], ["b", -3], ["▁ab", -2.5], ["ab", -4]]}
}`

// edit replaces old by new in doc, which must contain it.
func edit(t *testing.T, doc, old, new string) string {
	t.Helper()
	if !strings.Contains(doc, old) {
		t.Fatalf("the document lacks %q", old)
	}
	return strings.Replace(doc, old, new, 1)
}

func TestMiniTokenizers(t *testing.T) {
	for _, c := range []struct {
		name, doc, a, b string
		want            []string
	}{
		{"wordpiece", miniWordPiece, "Hello, worlds!", "", []string{"[CLS]", "hello", ",", "world", "##s", "!", "[SEP]"}},
		{"wordpiece unknown", miniWordPiece, "hello there", "", []string{"[CLS]", "hello", "[UNK]", "[SEP]"}},
		{"wordpiece pair", miniWordPiece, "hello", "world", []string{"[CLS]", "hello", "[SEP]", "world", "[SEP]"}},
		{"wordpiece special in text", miniWordPiece, "[SEP]hello", "", []string{"[CLS]", "[SEP]", "hello", "[SEP]"}},
		{"bpe", miniBPE, "abb ab a", "", []string{"abb", "ab", "a"}},
		{"bpe unknown fused", miniBPE, "xyab", "", []string{"<unk>", "ab"}},
		{"unigram", miniUnigram, "ab a", "", []string{"▁ab", "▁", "a"}},
		{"unigram unknown fused", miniUnigram, "xyz", "", []string{"▁", "xyz"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			e := tok.Encode(c.a, 0)
			if c.b != "" {
				e = tok.EncodePair(c.a, c.b, 0)
			}
			if strings.Join(e.Tokens, " ") != strings.Join(c.want, " ") {
				t.Errorf("got %q, want %q", e.Tokens, c.want)
			}
			for i, id := range e.IDs {
				if tk, _ := tok.Token(id); tk != e.Tokens[i] && !strings.HasPrefix(c.name, "unigram unknown") {
					t.Errorf("id %d is %q, token says %q", id, tk, e.Tokens[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		want error
	}{
		{"not JSON", `{"model": `, ErrInvalid},
		{"no model", `{"normalizer": null}`, ErrInvalid},
		{"unknown model", edit(t, miniWordPiece, `"type": "WordPiece"`, `"type": "WordLevel"`), ErrUnsupported},
		{"unknown normalizer", edit(t, miniWordPiece, `"type": "BertNormalizer"`, `"type": "Nmt"`), ErrUnsupported},
		{"unknown pre-tokenizer", edit(t, miniWordPiece, `"type": "BertPreTokenizer"`, `"type": "Digits"`), ErrUnsupported},
		{"unknown post-processor", edit(t, miniWordPiece, `"type": "BertProcessing"`, `"type": "Fancy"`), ErrUnsupported},
		{"look-ahead regex", edit(t, miniWordPiece, `{"type": "BertPreTokenizer"}`,
			`{"type": "Split", "pattern": {"Regex": "a(?=b)"}, "behavior": "Isolated", "invert": false}`), ErrUnsupported},
		{"pattern missing", edit(t, miniWordPiece, `{"type": "BertPreTokenizer"}`, `{"type": "Split", "behavior": "Isolated"}`), ErrInvalid},
		{"unknown behavior", edit(t, miniWordPiece, `{"type": "BertPreTokenizer"}`, `{"type": "Punctuation", "behavior": "Sideways"}`), ErrUnsupported},
		{"unk not in vocabulary", edit(t, miniWordPiece, `"unk_token": "[UNK]"`, `"unk_token": "<unk>"`), ErrInvalid},
		{"shared id", edit(t, miniWordPiece, `"!": 8`, `"!": 7`), ErrInvalid},
		{"negative id", edit(t, miniWordPiece, `"!": 8`, `"!": -8`), ErrInvalid},
		{"vocabulary not a map", edit(t, miniWordPiece, `"vocab": {`, `"vocab": [{`) + "]", ErrInvalid},
		{"undefined sep", edit(t, miniWordPiece, `"sep": ["[SEP]", 3], `, ``), ErrInvalid},
		{"template token undefined", edit(t, miniWordPiece, `{"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}`,
			`{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "pair": [], "special_tokens": {}}`), ErrInvalid},
		{"template sequence C", edit(t, miniWordPiece, `{"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}`,
			`{"type": "TemplateProcessing", "single": [{"Sequence": {"id": "C", "type_id": 0}}], "pair": [], "special_tokens": {}}`), ErrInvalid},
		{"BPE merge outside vocabulary", edit(t, miniBPE, `"a b"`, `"a c"`), ErrInvalid},
		{"BPE merge of three", edit(t, miniBPE, `"a b"`, `"a b c"`), ErrInvalid},
		{"BPE dropout", edit(t, miniBPE, `"fuse_unk": true`, `"fuse_unk": true, "dropout": 0.1`), ErrUnsupported},
		{"Unigram unk_id outside", edit(t, miniUnigram, `"unk_id": 0`, `"unk_id": 6`), ErrInvalid},
		{"Unigram entry not a pair", edit(t, miniUnigram, `["<unk>", 0]`, `["<unk>"]`), ErrInvalid},
		{"Unigram duplicate piece", edit(t, miniUnigram, `["b", -3]`, `["a", -3]`), ErrInvalid},
		{"Unigram empty", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": []}}`, ErrInvalid},
		{"Metaspace replacement of two characters", edit(t, miniUnigram, `"replacement": "▁"`, `"replacement": "__"`), ErrInvalid},
		{"Precompiled charsmap too short", edit(t, miniUnigram, `"pre_tokenizer"`,
			`"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAE="}, "pre_tokenizer"`), ErrInvalid},
		{"Precompiled trie larger than charsmap", edit(t, miniUnigram, `"pre_tokenizer"`,
			`"normalizer": {"type": "Precompiled", "precompiled_charsmap": "QAAAAAAAAAA="}, "pre_tokenizer"`), ErrInvalid},
		{"truncation stride", edit(t, miniWordPiece, `"truncation": null`, `"truncation": {"max_length": 8, "strategy": "LongestFirst", "stride": 2}`), ErrUnsupported},
		{"truncation strategy", edit(t, miniWordPiece, `"truncation": null`, `"truncation": {"max_length": 8, "strategy": "Middle"}`), ErrUnsupported},
		{"added token with negative id", edit(t, miniWordPiece, `{"id": 0, "content": "[PAD]"`, `{"id": -1, "content": "[PAD]"`), ErrInvalid},
		{"nested too deep", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", 0]]}, "normalizer": ` +
			strings.Repeat(`{"type": "Sequence", "normalizers": [`, 20) + strings.Repeat(`]}`, 20) + `}`, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of several lines: %q", err)
			}
		})
	}
}

func TestSentencePieceErrors(t *testing.T) {
	spm := readTestdata(t, "spm.model.gz")
	for _, c := range []struct {
		name string
		data []byte
		opts SentencePieceOptions
		want error
	}{
		{"empty", nil, SentencePieceOptions{}, ErrInvalid},
		{"truncated", spm[:len(spm)/2], SentencePieceOptions{}, ErrInvalid},
		{"bad wire type", []byte{0x0b}, SentencePieceOptions{}, ErrInvalid},
		{"BPE model", append([]byte{0x0a, 0x03, 0x0a, 0x01, 'a', 0x12, 0x02, 0x18, 0x02}, nil...), SentencePieceOptions{}, ErrUnsupported},
		{"special token missing", spm, SentencePieceOptions{Cls: "<s>"}, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSentencePiece(c.data, c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestTruncationFromFile checks that the truncation section of tokenizer.json applies when the
// caller gives no maximum length, and that maxLen overrides it.
func TestTruncationFromFile(t *testing.T) {
	tok, err := Parse([]byte(edit(t, miniWordPiece, `"truncation": null`, `"truncation": {"max_length": 4, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("hello world hello world", 0).Tokens; strings.Join(got, " ") != "[CLS] hello world [SEP]" {
		t.Errorf("file truncation: %q", got)
	}
	if got := tok.Encode("hello world hello world", 5).Tokens; strings.Join(got, " ") != "[CLS] hello world hello [SEP]" {
		t.Errorf("maxLen 5: %q", got)
	}
	if got := tok.EncodePair("hello world hello", "world", 1).Tokens; strings.Join(got, " ") != "[CLS] [SEP] [SEP]" {
		t.Errorf("maxLen below the special tokens: %q", got)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty directory: %v", err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("spm.model", readTestdata(t, "spm.model.gz"))
	write("tokenizer_config.json", []byte(`{"do_lower_case": true, "split_by_punct": true, "mask_token": {"content": "[MASK]", "lstrip": false}}`))
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	expectExact(t, tok, "spm-lower-punct")

	write("tokenizer_config.json", []byte(`{"do_lower_case": 3}`))
	if _, err := LoadDir(dir); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad tokenizer_config.json: %v", err)
	}

	write("tokenizer.json", []byte(miniWordPiece)) // preferred to spm.model
	if tok, err = LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.ID("##s"); !ok {
		t.Error("LoadDir did not prefer tokenizer.json")
	}
}
