package tokenizer

import (
	"os"
	"slices"
	"testing"
)

// FuzzTokenize checks invariants on arbitrary input: no panic, ids within the vocabulary, every
// token carrying its own id, lengths within maxLen, and Tokenize agreeing with Encode. It uses
// bert-base-uncased when the shared vocabulary is present, else the tiny test vocabulary.
func FuzzTokenize(f *testing.F) {
	for _, seed := range []string{
		"", "Café naïve résumé", "well-known don't U.S.A.", "中文字 😀 $3.50", "[MASK] x[CLS]y [mask]",
		"\x00\t\n\r\u00a0\u2028\ufffd\xff", "ΟΔΟΣ İstanbul cafe\u0301", "“quoted” — 1,000,000!!!",
	} {
		f.Add(seed, "second sequence", 16)
	}
	vocab := tinyVocab
	if _, err := os.Stat(sharedVocabPath); err == nil {
		v, err := LoadVocab(sharedVocabPath)
		if err != nil {
			f.Fatal(err)
		}
		vocab = v
	}
	tokenizers := make([]*Tokenizer, 0, 3)
	for _, opts := range []Options{{DoLowerCase: true}, {}, {StripAccents: ptr(true), TokenizeChineseChars: ptr(false), MaxInputCharsPerWord: 5}} {
		tok, err := New(vocab, opts)
		if err != nil {
			f.Fatal(err)
		}
		tokenizers = append(tokenizers, tok)
	}

	f.Fuzz(func(t *testing.T, a, b string, maxLen int) {
		maxLen = 3 + abs(maxLen%64) // room for the special tokens of a pair
		for _, tok := range tokenizers {
			tokens := tok.Tokenize(a)
			full := tok.Encode(a, 0)
			checkEncoding(t, tok, full)
			if !slices.Equal(full.Tokens[1:len(full.Tokens)-1], tokens) {
				t.Fatalf("Tokenize(%q) = %q, Encode gives %q", a, tokens, full.Tokens)
			}
			single := tok.Encode(a, maxLen)
			checkEncoding(t, tok, single)
			if len(single.IDs) > maxLen || !slices.Equal(single.IDs[1:len(single.IDs)-1], full.IDs[1:len(single.IDs)-1]) {
				t.Fatalf("Encode(%q, %d) = %v is not a prefix of %v within maxLen", a, maxLen, single.IDs, full.IDs)
			}
			pair := tok.EncodePair(a, b, maxLen)
			checkEncoding(t, tok, pair)
			if len(pair.IDs) > maxLen {
				t.Fatalf("EncodePair(%q, %q, %d) has %d tokens", a, b, maxLen, len(pair.IDs))
			}
		}
	})
}

// checkEncoding verifies the invariants of any encoding: aligned slices, ids in range, each
// token's id its vocabulary id, [CLS] first and [SEP] last.
func checkEncoding(t *testing.T, tok *Tokenizer, e Encoding) {
	t.Helper()
	checkConsistent(t, tok, e)
	for _, id := range e.IDs {
		if id < 0 || id >= tok.VocabSize() {
			t.Fatalf("id %d outside [0, %d)", id, tok.VocabSize())
		}
	}
	if n := len(e.Tokens); n < 2 || e.Tokens[0] != ClsToken || e.Tokens[n-1] != SepToken {
		t.Fatalf("encoding does not run from [CLS] to [SEP]: %q", e.Tokens)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
