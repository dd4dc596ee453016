package hfjson

import "unicode"

// isWhitespace is Rust's char::is_whitespace: the Unicode White_Space property.
func isWhitespace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || r >= '\t' && r <= '\r'
	}
	return unicode.Is(unicode.White_Space, r)
}

// isPunctuation is the test of HF's BertPreTokenizer and Punctuation pre-tokenizer: ASCII
// punctuation or Unicode category P*.
func isPunctuation(r rune) bool {
	if r < 0x80 {
		return r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126
	}
	return unicode.In(r, unicode.P)
}

// isOther is the control test of BertNormalizer's clean_text: categories Cc, Cf, Co and Cs,
// except tab, newline and carriage return (which are white space).
func isOther(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isChineseChar is BertNormalizer's CJK test, with the Rust library's ranges.
func isChineseChar(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F ||
		r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x2F800 && r <= 0x2FA1F
}

// isWordChar is Oniguruma's Unicode \w as HF's tokenizers uses it: letters, marks, decimal
// digits, letter numbers and connector punctuation (not the zero-width joiners).
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Pc, r)
}

// appendLower appends Rust's char::to_lowercase of r: the simple mapping, except İ, whose full
// lower case is i followed by a combining dot above.
func appendLower(dst []byte, r rune) []byte {
	if r == 0x130 {
		return append(dst, "i\u0307"...)
	}
	return appendRune(dst, unicode.ToLower(r))
}
