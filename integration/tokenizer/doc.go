// Package tokenizer reproduces Hugging Face's slow BertTokenizer (transformers v4: the Python
// BasicTokenizer followed by the WordpieceTokenizer), so that a BERT model fine-tuned in Go sees
// exactly the token ids that the Python tooling would give it.
//
// The steps, in HF's order:
//
//  1. Special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) written in the text are cut out first
//     and kept whole (case-sensitive, as HF's added-token trie).
//  2. With DoLowerCase the rest is lower-cased one code point at a time, as
//     PreTrainedTokenizer.tokenize does before the BasicTokenizer runs (so a final capital sigma
//     becomes σ, not ς).
//  3. Cleaning: NUL, U+FFFD and every code point of category C* (controls, format characters,
//     private use, unassigned) except \t \n \r are removed; white space becomes a space.
//  4. CJK ideographs are padded with spaces (TokenizeChineseChars).
//  5. NFC normalisation, then split on white space.
//  6. Per word: NeverSplit words are kept as they are; otherwise accents are stripped if
//     StripAccents is in effect (NFD, then marks of category Mn removed) and the word is split
//     around every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126 and category P*).
//  7. WordPiece: greedy longest-match-first with "##" continuations; a word longer than
//     MaxInputCharsPerWord code points, or with a piece that matches nothing, becomes one [UNK].
//
// Known differences from HF's fast (Rust) tokenizer, which this package does not follow: the
// fast one keeps unassigned code points (they turn a word into [UNK]), applies no NFC, lower-cases
// a final capital sigma to ς (as does transformers v5, which lower-cases whole words), and in
// 'longest_first' pair truncation gives an odd token left over to the longer sequence (the
// second if both are equal) where the slow one always gives it to the first (see EncodePair).
// Character categories come from Go's Unicode tables, so code points assigned after the Unicode
// version of the Python that HF ran on can be treated differently.
package tokenizer
