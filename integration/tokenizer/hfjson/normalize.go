package hfjson

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites the text between added tokens.
type normalizer func(string) string

// rawNormalizer is every field that a normalizer of tokenizer.json can have.
type rawNormalizer struct {
	Type                string            `json:"type"`
	CleanText           *bool             `json:"clean_text"`
	HandleChineseChars  *bool             `json:"handle_chinese_chars"`
	StripAccents        *bool             `json:"strip_accents"`
	Lowercase           *bool             `json:"lowercase"`
	Normalizers         []json.RawMessage `json:"normalizers"`
	Pattern             *rawPattern       `json:"pattern"`
	Content             string            `json:"content"`
	Prepend             string            `json:"prepend"`
	StripLeft           *bool             `json:"strip_left"`
	StripRight          *bool             `json:"strip_right"`
	PrecompiledCharsmap []byte            `json:"precompiled_charsmap"`
}

// rawPattern is HF's Pattern: {"String": "..."} or {"Regex": "..."}.
type rawPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// compile returns the pattern as a Go regular expression.
func (p *rawPattern) compile() (*regexp.Regexp, error) {
	switch {
	case p == nil:
		return nil, fmt.Errorf("%w: missing pattern", ErrInvalid)
	case p.String != nil:
		return regexp.Compile(regexp.QuoteMeta(*p.String))
	case p.Regex != nil:
		re, err := regexp.Compile(translateRegex(*p.Regex))
		if err != nil {
			return nil, fmt.Errorf("%w: regular expression %q: %w", ErrUnsupported, *p.Regex, err)
		}
		return re, nil
	}
	return nil, fmt.Errorf("%w: pattern is neither String nor Regex", ErrInvalid)
}

func orDefault(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func parseNormalizer(data json.RawMessage, depth int) (normalizer, error) {
	var r rawNormalizer
	if ok, err := decodeComponent(data, depth, "normalizer", &r); !ok {
		return nil, err
	}
	switch r.Type {
	case "BertNormalizer":
		lower := orDefault(r.Lowercase, true)
		return bertNormalizer{
			cleanText:    orDefault(r.CleanText, true),
			chineseChars: orDefault(r.HandleChineseChars, true),
			stripAccents: orDefault(r.StripAccents, lower),
			lowercase:    lower,
		}.normalize, nil
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return lowercase, nil
	case "StripAccents":
		return stripMarks, nil
	case "Strip":
		left, right := orDefault(r.StripLeft, true), orDefault(r.StripRight, true)
		return func(s string) string {
			if left {
				s = strings.TrimLeftFunc(s, isWhitespace)
			}
			if right {
				s = strings.TrimRightFunc(s, isWhitespace)
			}
			return s
		}, nil
	case "Prepend":
		return func(s string) string {
			if s == "" {
				return s
			}
			return r.Prepend + s
		}, nil
	case "Replace":
		re, err := r.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return func(s string) string { return re.ReplaceAllLiteralString(s, r.Content) }, nil
	case "Precompiled":
		if len(r.PrecompiledCharsmap) == 0 {
			return func(s string) string { return s }, nil
		}
		p, err := newPrecompiled(r.PrecompiledCharsmap)
		if err != nil {
			return nil, err
		}
		return p.normalize, nil
	case "Sequence":
		seq, err := parseEach(r.Normalizers, depth, parseNormalizer)
		if err != nil {
			return nil, err
		}
		return func(s string) string {
			for _, n := range seq {
				s = n(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("%w: normalizer %q", ErrUnsupported, r.Type)
}

// bertNormalizer is HF's BertNormalizer.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

func (b bertNormalizer) normalize(s string) string {
	if isPlainASCII(s) { // nothing to clean, pad, decompose or strip
		if b.lowercase {
			return strings.ToLower(s)
		}
		return s
	}
	buf := make([]byte, 0, len(s)+8)
	for _, r := range s {
		if b.cleanText {
			if r == 0 || r == utf8.RuneError || isOther(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		if b.chineseChars && isChineseChar(r) {
			buf = append(append(append(buf, ' '), string(r)...), ' ')
			continue
		}
		buf = appendRune(buf, r)
	}
	s = string(buf)
	if b.stripAccents {
		s = stripMarks(norm.NFD.String(s))
	}
	if b.lowercase {
		s = lowercase(s)
	}
	return s
}

// isPlainASCII reports whether s has only printable ASCII and spaces, which BertNormalizer
// leaves as they are (but for lower-casing).
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// lowercase lower-cases s one code point at a time, as HF's Lowercase normalizer.
func lowercase(s string) string {
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		buf = appendLower(buf, r)
	}
	return string(buf)
}

// stripMarks removes the non-spacing marks (category Mn), as HF's StripAccents (which, unlike
// BertNormalizer's strip_accents, does not decompose first).
func stripMarks(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
}

// appendRune appends r in UTF-8. Invalid runes (which Go's string iteration yields for invalid
// bytes) are written as U+FFFD.
func appendRune(dst []byte, r rune) []byte { return utf8.AppendRune(dst, r) }

// translateRegex rewrites the Oniguruma classes \s, \d and \w, which are Unicode-aware in HF, into
// their Unicode equivalents for Go's regexp, where they are ASCII-only.
func translateRegex(pattern string) string {
	const (
		space = `\t\n\v\f\r\x{85}\p{Z}`
		digit = `\p{Nd}`
		word  = `\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}` // isWordChar
	)
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			var cls string
			switch pattern[i] {
			case 's':
				cls = space
			case 'd':
				cls = digit
			case 'w':
				cls = word
			default:
				b.WriteByte('\\')
				b.WriteByte(pattern[i])
				continue
			}
			if inClass {
				b.WriteString(cls)
			} else {
				b.WriteString("[" + cls + "]")
			}
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			if i+1 < len(pattern) && pattern[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(pattern) && pattern[i+1] == ']' { // a literal ] first in a class
				i++
				b.WriteString(`\]`)
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
