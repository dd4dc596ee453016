package finetune

import (
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/testenv"
)

// Tokenising SST-2's 67k training sentences: Encode (all CPUs) against train.Encode (one
// goroutine), and reading the TSV for comparison.
func BenchmarkSST2(b *testing.B) {
	data := requireShared(b, "data/sst2/train.tsv")
	tok, err := tokenizer.FromDir(requireShared(b, "models/sst-bert-tiny"))
	if err != nil {
		b.Fatal(err)
	}
	examples, err := dataset.ReadTSV(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := dataset.ReadTSV(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-sequential", func(b *testing.B) {
		for b.Loop() {
			train.Encode(tok, examples, 128)
		}
	})
	b.Run("encode-parallel", func(b *testing.B) {
		for b.Loop() {
			Encode(tok, examples, 128)
		}
	})
}

// Fingerprint of all-MiniLM-L6-v2 (22.7 M weights), which every training run and every predict
// computes, against loading the checkpoint it fingerprints.
func BenchmarkFingerprintMiniLM(b *testing.B) {
	dir := testenv.Model(b, "all-MiniLM-L6-v2")
	ck, err := checkpoint.LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fingerprint", func(b *testing.B) {
		for b.Loop() {
			Fingerprint(ck)
		}
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := checkpoint.LoadDir(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}
