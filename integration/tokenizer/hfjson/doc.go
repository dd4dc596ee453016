// Package hfjson loads Hugging Face fast tokenizers, tokenizer.json files, and SentencePiece
// spm.model files, and encodes text exactly as HF's `tokenizers` (Rust) library and transformers'
// DebertaV2Tokenizer do: the same ids and token type ids for single sentences and pairs, with the
// same 'longest_first' truncation.
//
// A tokenizer.json describes a pipeline, run here in HF's order:
//
//  1. added tokens (special tokens such as [CLS] or <mask>) are cut out of the text whole, with
//     their lstrip/rstrip/single_word rules;
//  2. the normalizer rewrites the rest: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase,
//     StripAccents, Strip, Replace, Prepend, Precompiled (SentencePiece's compiled rules) or a
//     Sequence of them;
//  3. the pre-tokenizer splits it into words: BertPreTokenizer, ByteLevel (GPT-2/RoBERTa),
//     Metaspace (SentencePiece), Whitespace, WhitespaceSplit, Punctuation, Split or a Sequence;
//  4. the model turns each word into tokens: WordPiece (BERT), BPE (byte-level as RoBERTa's) or
//     Unigram (XLM-R, DeBERTa-v3);
//  5. truncation cuts the tokens to the maximum length ('longest_first' for pairs, as HF);
//  6. the post-processor adds the special tokens and type ids: BertProcessing, RobertaProcessing,
//     TemplateProcessing, ByteLevel (nothing to do without offsets) or a Sequence.
//
// An spm.model (DeBERTa-v2/v3 ship only that) is read by LoadSentencePiece, which builds the
// pipeline that transformers 5's DebertaV2Tokenizer builds from it; LoadDir takes a checkpoint
// directory and uses tokenizer.json when there is one, spm.model otherwise.
//
// Offsets, padding and decoding are not implemented: a model input needs ids and type ids, its
// attention mask is 1 for every token of an Encoding, and padding is the batcher's job.
// Components this package does not implement are reported by Load with ErrUnsupported, never
// ignored.
//
// Regular expressions in Replace and Split are Oniguruma patterns in HF; they run here on Go's
// RE2 with \s, \d and \w widened to their Unicode meaning, so patterns that need look-around or
// back-references are rejected with ErrUnsupported.
package hfjson
