package tokenizer

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// sst2Sentences reads the sentence column of the shared SST-2 training set.
func sst2Sentences(b *testing.B) []string {
	b.Helper()
	requireFile(b, sharedSST2Train)
	file, err := os.Open(sharedSST2Train)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	var sentences []string
	scanner := bufio.NewScanner(file)
	scanner.Scan() // header
	for scanner.Scan() {
		sentence, _, _ := strings.Cut(scanner.Text(), "\t")
		sentences = append(sentences, sentence)
	}
	if err := scanner.Err(); err != nil {
		b.Fatal(err)
	}
	return sentences
}

// BenchmarkEncode encodes the whole SST-2 training set (67k sentences) per iteration.
func BenchmarkEncode(b *testing.B) {
	sentences := sst2Sentences(b)
	tok := bertUncased(b, Options{DoLowerCase: true})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, s := range sentences {
			tok.Encode(s, 128)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sentences)), "ns/sentence")
}

// BenchmarkEncodeNonASCII encodes accented, CJK and punctuation-heavy text, which takes the
// Unicode paths (NFC, accent stripping) that SST-2's ASCII text skips.
func BenchmarkEncodeNonASCII(b *testing.B) {
	tok := bertUncased(b, Options{DoLowerCase: true})
	text := strings.Repeat("Café naïve résumé — “well-known” 中文字 ΟΔΟΣ! ", 4)
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text, 128)
	}
}
