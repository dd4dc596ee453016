package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// piece is one output token with its id.
type piece struct {
	token string
	id    int
}

// scratch holds buffers reused across the words of one call, so that tokenising does not
// allocate per character.
type scratch struct {
	norm []byte // the normalised text of a chunk
	sub  []byte // "##" followed by the rest of the word being split into pieces
}

// pieces tokenises text, with room for the usual one piece per four bytes of English text.
func (t *Tokenizer) pieces(text string) []piece {
	return t.appendPieces(make([]piece, 0, len(text)/4+2), text)
}

// appendPieces tokenises text and appends its word pieces to dst.
func (t *Tokenizer) appendPieces(dst []piece, text string) []piece {
	var sc scratch
	for {
		at, special := t.nextSpecial(text)
		dst = t.appendChunk(dst, text[:at], &sc)
		if special == "" {
			return dst
		}
		dst = append(dst, piece{special, t.vocab[special]})
		text = text[at+len(special):]
	}
}

// nextSpecial returns the byte offset of the leftmost special token in text and that token, or
// len(text) and "". No special token is a prefix of another, so the leftmost match is the one
// HF's longest-match trie finds.
func (t *Tokenizer) nextSpecial(text string) (int, string) {
	for off := 0; ; off++ {
		i := strings.IndexByte(text[off:], '[')
		if i < 0 {
			return len(text), ""
		}
		off += i
		for _, s := range t.specials {
			if strings.HasPrefix(text[off:], s) {
				return off, s
			}
		}
	}
}

// appendChunk runs the BasicTokenizer and WordPiece over text that holds no special token.
func (t *Tokenizer) appendChunk(dst []piece, chunk string, sc *scratch) []piece {
	s := t.normalize(chunk, sc)
	for i := 0; i < len(s); {
		r, n := decodeRune(s[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(s) {
			r, n := decodeRune(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		dst = t.appendWord(dst, s[i:j], sc)
		i = j
	}
	return dst
}

// normalize lower-cases (per code point, as HF's tokenize does before the BasicTokenizer),
// cleans, pads CJK ideographs with spaces and NFC-normalises chunk.
func (t *Tokenizer) normalize(chunk string, sc *scratch) string {
	b := sc.norm[:0]
	ascii := true
	for i := 0; i < len(chunk); {
		if c := chunk[i]; c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				b = append(b, ' ')
			case c < 0x20 || c == 0x7f: // controls, NUL included
			default:
				if t.lowerCase && 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b = append(b, c)
			}
			continue
		}
		ascii = false
		r, n := utf8.DecodeRuneInString(chunk[i:])
		i += n
		if t.lowerCase {
			if r == 'İ' { // Python's full lower-case mapping: i + combining dot above
				b = append(b, "i\u0307"...)
				continue
			}
			r = unicode.ToLower(r)
		}
		switch {
		case r == utf8.RuneError || isOther(r): // U+FFFD, invalid UTF-8 and category C*
		case unicode.In(r, unicode.Z):
			// Zs is HF's white space; Zl and Zp are not, but Python's str.split splits on them.
			b = append(b, ' ')
		case t.chineseChars && isCJK(r):
			b = append(b, ' ')
			b = utf8.AppendRune(b, r)
			b = append(b, ' ')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	sc.norm = b
	if ascii {
		return string(b)
	}
	return norm.NFC.String(string(b))
}

// appendWord handles one white-space separated word: never-split check, accent stripping,
// punctuation split, then WordPiece.
func (t *Tokenizer) appendWord(dst []piece, word string, sc *scratch) []piece {
	if t.isNeverSplit(word) {
		return t.appendWhole(dst, word)
	}
	if t.stripAccents && !isASCII(word) {
		word = stripMarks(word)
		if t.isNeverSplit(word) {
			return t.appendWhole(dst, word)
		}
	}
	start := 0
	for i := 0; i < len(word); {
		r, n := decodeRune(word[i:])
		if isPunct(r) {
			if start < i {
				dst = t.appendSubword(dst, word[start:i], sc)
			}
			dst = t.appendSubword(dst, word[i:i+n], sc)
			start = i + n
		}
		i += n
	}
	if start < len(word) {
		dst = t.appendSubword(dst, word[start:], sc)
	}
	return dst
}

// appendSubword appends the word pieces of a punctuation-free word (or a punctuation character).
func (t *Tokenizer) appendSubword(dst []piece, word string, sc *scratch) []piece {
	if t.isNeverSplit(word) {
		return t.appendWhole(dst, word)
	}
	return t.appendWordPieces(dst, word, sc)
}

// appendWhole appends a never-split word as it is; like HF, its id is [UNK]'s if the vocabulary
// lacks it.
func (t *Tokenizer) appendWhole(dst []piece, word string) []piece {
	id, ok := t.vocab[word]
	if !ok {
		id = t.unkID
	}
	return append(dst, piece{word, id})
}

func (t *Tokenizer) isNeverSplit(word string) bool {
	_, ok := t.neverSplit[word]
	return ok
}

// stripMarks decomposes word (NFD) and drops the non-spacing marks (category Mn).
func stripMarks(word string) string {
	d := norm.NFD.String(word)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, d)
}

// decodeRune is utf8.DecodeRuneInString with the ASCII case inlined.
func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isOther reports Unicode category C* (Cc, Cf, Cs, Co and unassigned Cn), which HF's _is_control
// removes. Go has no table for Cn, hence the complement.
func isOther(r rune) bool {
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunct is HF's _is_punctuation: every non-alphanumeric printable ASCII character, and
// Unicode category P*.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isCJK is HF's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions and
// compatibility blocks (not Hangul, Hiragana or Katakana).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
