package hfjson

import (
	"testing"
	"unicode/utf8"
)

// fuzzTexts are encoded by every tokenizer that FuzzParse manages to load.
var fuzzTexts = []string{"", "Hello, worlds!", "ab a  xyz", "[CLS] é 中文 😀\t\n", "\xff\xfe invalid"}

// FuzzParse feeds malformed tokenizer.json files to Parse: they must give errors, never panics,
// and whatever loads must encode without panicking.
func FuzzParse(f *testing.F) {
	for _, doc := range []string{miniWordPiece, miniBPE, miniUnigram, `{}`, `{"model": null}`} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range fuzzTexts {
			tok.Encode(s, 0)
			tok.Encode(s, 3)
			tok.EncodePair(s, s, 0)
			tok.EncodePair(s, "x", 4)
		}
	})
}

// FuzzEncode feeds arbitrary text and lengths to the test tokenizers: no panics, and an encoding
// never longer than maxLen when maxLen leaves room for the special tokens.
func FuzzEncode(f *testing.F) {
	toks := []*Tokenizer{
		parseTestdata(f, "wordpiece-cased.json"),
		parseTestdata(f, "bpe-bytelevel.json.gz"),
		parseTestdata(f, "unigram-metaspace.json.gz"),
	}
	spm, err := ParseSentencePiece(readTestdata(f, "spm.model.gz"), SentencePieceOptions{SplitByPunct: true})
	if err != nil {
		f.Fatal(err)
	}
	toks = append(toks, spm)
	for _, s := range fuzzTexts {
		f.Add(s, "second", 8)
	}
	f.Fuzz(func(t *testing.T, a, b string, maxLen int) {
		maxLen %= 64
		for _, tok := range toks {
			e := tok.EncodePair(a, b, maxLen)
			if maxLen >= tok.added(true) && len(e.IDs) > maxLen && maxLen > 0 {
				t.Fatalf("EncodePair(%q, %q, %d) gave %d ids", a, b, maxLen, len(e.IDs))
			}
			if len(e.IDs) != len(e.TypeIDs) || len(e.IDs) != len(e.Tokens) {
				t.Fatal("ids, type ids and tokens differ in length")
			}
			if s := tok.Encode(a, 0); utf8.ValidString(a) && len(s.IDs) < tok.added(false) {
				t.Fatalf("Encode(%q) lost special tokens", a)
			}
		}
	})
}

// FuzzSentencePiece feeds malformed spm.model files to ParseSentencePiece.
func FuzzSentencePiece(f *testing.F) {
	f.Add([]byte{0x0a, 0x03, 0x0a, 0x01, 'a', 0x12, 0x02, 0x18, 0x01})
	f.Add([]byte{0x0a, 0x0c, 0x0a, 0x05, '[', 'U', 'N', 'K', ']', 0x15, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseSentencePiece(data, SentencePieceOptions{Cls: "a", Sep: "a", Unk: "a", Pad: "a"})
		if err != nil {
			return
		}
		for _, s := range fuzzTexts {
			tok.EncodePair(s, s, 5)
		}
	})
}
