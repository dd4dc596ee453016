package tokenizer

// Encoder is what training and prediction need of a tokenizer: model inputs for one sentence or
// a pair, cut to maxLen tokens. This package's Tokenizer (vocab.txt) implements it, and so do the
// tokenizers of package hfjson (tokenizer.json, spm.model).
type Encoder interface {
	Encode(text string, maxLen int) Encoding
	EncodePair(a, b string, maxLen int) Encoding
}

var _ Encoder = (*Tokenizer)(nil)
