package hfjson

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/internal/testenv"
)

// sst2Like are sentences of the fixture strings, to benchmark and to encode concurrently.
func sst2Like(t testing.TB) []string {
	var in fixtureStrings
	readJSON(t, "testdata/strings.json", &in)
	return in.Single
}

func benchTokenizers(b *testing.B) map[string]*Tokenizer {
	spm, err := ParseSentencePiece(readTestdata(b, "spm.model.gz"), SentencePieceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]*Tokenizer{
		"wordpiece": parseTestdata(b, "wordpiece-cased.json"),
		"bpe":       parseTestdata(b, "bpe-bytelevel.json.gz"),
		"unigram":   parseTestdata(b, "unigram-metaspace.json.gz"),
		"spm":       spm,
	}
}

// BenchmarkEncode encodes the fixture sentences (one op is one sentence).
func BenchmarkEncode(b *testing.B) {
	texts := sst2Like(b)
	for name, tok := range benchTokenizers(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tok.Encode(texts[i%len(texts)], 128)
			}
		})
	}
}

// TestConcurrentEncode encodes from several goroutines at once (run with -race), as
// finetune.Encode does.
func TestConcurrentEncode(t *testing.T) {
	tok := parseTestdata(t, "unigram-metaspace.json.gz")
	texts := sst2Like(t)
	want := make([][]int, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, 0).IDs
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, s := range texts {
				if got := tok.Encode(s, 0).IDs; len(got) != len(want[i]) {
					t.Errorf("%q: %d ids concurrently, %d alone", s, len(got), len(want[i]))
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkMiniLM compares the tokenizer.json path with the vocab.txt tokenizer of package
// tokenizer on the same checkpoint (all-MiniLM-L6-v2, BERT uncased; the model cache is needed).
func BenchmarkMiniLM(b *testing.B) {
	dir := testenv.Model(b, "all-MiniLM-L6-v2")
	fast, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	slow, err := tokenizer.FromDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	texts := sst2Like(b)
	for _, c := range []struct {
		name string
		enc  tokenizer.Encoder
	}{{"vocab.txt", slow}, {"tokenizer.json", fast}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				c.enc.Encode(texts[i%len(texts)], 128)
			}
		})
	}
}

// BenchmarkUnigramLongPieces encodes with a vocabulary that has long pieces (real SentencePiece
// vocabularies have runs of ▁ and long words): the lattice must not slow down with their length.
func BenchmarkUnigramLongPieces(b *testing.B) {
	pieces := []unigramPiece{{"<unk>", 0}, {"▁", -2}}
	for c := 'a'; c <= 'z'; c++ {
		pieces = append(pieces, unigramPiece{string(c), -3})
		pieces = append(pieces, unigramPiece{"▁" + strings.Repeat(string(c), 200), -1})
	}
	m, err := newUnigram(pieces, 0, false)
	if err != nil {
		b.Fatal(err)
	}
	w := "▁" + strings.Repeat("abcdefghij", 30)
	b.ReportAllocs()
	for b.Loop() {
		m.tokenize(nil, w)
	}
}

// BenchmarkLongWord encodes one 16,000-character word without spaces (a URL or an encoded blob
// in real data): BPE merges through a priority queue and the Unigram lattice through a trie, so
// the cost grows as n·log n, not n².
func BenchmarkLongWord(b *testing.B) {
	word := strings.Repeat("abcdefghij", 1600)
	for name, tok := range benchTokenizers(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				tok.Encode(word, 0)
			}
		})
	}
}
