package finetune

import (
	"testing"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
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
