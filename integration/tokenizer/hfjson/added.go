package hfjson

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens: a token cut out of the text whole
// before the model sees it.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// segment is a stretch of text, or an added token when id >= 0; start is its byte offset in the
// text it was cut from.
type segment struct {
	text  string
	id    int
	start int
}

// splitAdded cuts the tokens out of s, leftmost first and longest among those starting at the
// same place, as HF's added vocabulary: lstrip and rstrip tokens take the white space beside
// them, single_word tokens match only between non-word characters.
func splitAdded(s string, tokens []addedToken) []segment {
	if len(tokens) == 0 || s == "" {
		return []segment{{s, -1, 0}}
	}
	var first [256]bool // the first bytes of the tokens: elsewhere no token starts
	for _, t := range tokens {
		if t.Content != "" {
			first[t.Content[0]] = true
		}
	}
	var out []segment
	gap := 0 // start of the text not yet emitted
	for pos := 0; pos < len(s); {
		if !first[s[pos]] {
			pos++
			continue
		}
		best := -1
		for i, t := range tokens {
			if t.Content != "" && strings.HasPrefix(s[pos:], t.Content) && (best < 0 || len(t.Content) > len(tokens[best].Content)) {
				best = i
			}
		}
		if best < 0 {
			pos++
			continue
		}
		t := tokens[best]
		start, stop := pos, pos+len(t.Content)
		pos = stop
		if t.SingleWord && (endsWithWordChar(s[:start]) || startsWithWordChar(s[stop:])) {
			continue
		}
		if t.LStrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), gap)
		}
		if t.RStrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		start = max(start, gap)
		if gap < start {
			out = append(out, segment{s[gap:start], -1, gap})
		}
		out = append(out, segment{s[start:stop], t.ID, start})
		gap = stop
		pos = max(pos, stop)
	}
	if gap < len(s) {
		out = append(out, segment{s[gap:], -1, gap})
	}
	return out
}

func isAlphanumeric(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

func endsWithWordChar(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isAlphanumeric(r)
}

func startsWithWordChar(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isAlphanumeric(r)
}
