package train

import (
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// Encode tokenises labelled texts for Fit and Evaluate as "[CLS] text [SEP]", truncated to maxLen
// tokens, special tokens included; maxLen 0 keeps every token.
func Encode(tok tokenizer.Encoder, examples []dataset.Example, maxLen int) []Example {
	out := make([]Example, len(examples))
	for i, e := range examples {
		enc := tok.Encode(e.Text, maxLen)
		out[i] = Example{IDs: enc.IDs, TypeIDs: enc.TypeIDs, Label: e.Label}
	}
	return out
}
