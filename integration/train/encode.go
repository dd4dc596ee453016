package train

import (
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// Encode tokenises labelled texts for Fit and Evaluate as "[CLS] text [SEP]", or a pair as
// "[CLS] text [SEP] pair [SEP]" with token types 0 then 1 (the tokenizer's special tokens and
// types), truncated to maxLen tokens, special tokens included; maxLen 0 keeps every token. Labels
// and regression scores are copied.
func Encode(tok tokenizer.Encoder, examples []dataset.Example, maxLen int) []Example {
	out := make([]Example, len(examples))
	for i, e := range examples {
		var enc tokenizer.Encoding
		if e.Pair != "" {
			enc = tok.EncodePair(e.Text, e.Pair, maxLen)
		} else {
			enc = tok.Encode(e.Text, maxLen)
		}
		out[i] = Example{IDs: enc.IDs, TypeIDs: enc.TypeIDs, Label: e.Label, Score: e.Score}
	}
	return out
}
