package hfjson

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// word is one piece of pre-tokenized text; atStart says it begins at offset 0 of the input, which
// Metaspace's "first" prepend scheme needs.
type word struct {
	text    string
	atStart bool
}

// preTokenizer splits every word further.
type preTokenizer func([]word) []word

// behavior is HF's SplitDelimiterBehavior: what becomes of the matched delimiters.
type behavior int

const (
	removed behavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

func parseBehavior(s string) (behavior, error) {
	switch s {
	case "Removed":
		return removed, nil
	case "Isolated", "":
		return isolated, nil
	case "MergedWithPrevious":
		return mergedWithPrevious, nil
	case "MergedWithNext":
		return mergedWithNext, nil
	case "Contiguous":
		return contiguous, nil
	}
	return 0, fmt.Errorf("%w: split behavior %q", ErrUnsupported, s)
}

// span is a piece of a word and whether it matched the delimiter.
type span struct {
	start, end int
	match      bool
}

// splitWord cuts w at the matches (which tile w together with the gaps between them) and keeps
// the pieces as behavior says, dropping empty ones.
func splitWord(w word, spans []span, b behavior) []word {
	var pieces []span
	switch b {
	case removed:
		for _, s := range spans {
			if !s.match {
				pieces = append(pieces, s)
			}
		}
	case isolated:
		pieces = spans
	case contiguous:
		for _, s := range spans {
			if n := len(pieces); n > 0 && s.match && pieces[n-1].match {
				pieces[n-1].end = s.end
			} else {
				pieces = append(pieces, s)
			}
		}
	case mergedWithPrevious:
		prevMatch := false
		for _, s := range spans {
			if n := len(pieces); n > 0 && s.match && !prevMatch {
				pieces[n-1].end = s.end
			} else {
				pieces = append(pieces, span{s.start, s.end, false})
			}
			prevMatch = s.match
		}
	case mergedWithNext:
		prevMatch := false
		for i := len(spans) - 1; i >= 0; i-- {
			s := spans[i]
			if n := len(pieces); n > 0 && s.match && !prevMatch {
				pieces[n-1].start = s.start
			} else {
				pieces = append(pieces, span{s.start, s.end, false})
			}
			prevMatch = s.match
		}
		for i, j := 0, len(pieces)-1; i < j; i, j = i+1, j-1 {
			pieces[i], pieces[j] = pieces[j], pieces[i]
		}
	}
	out := make([]word, 0, len(pieces))
	for _, p := range pieces {
		if p.end > p.start {
			out = append(out, word{w.text[p.start:p.end], w.atStart && p.start == 0})
		}
	}
	return out
}

// charSpans marks every character for which isDelim holds as a match of its own.
func charSpans(s string, isDelim func(rune) bool) []span {
	var spans []span
	gap := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isDelim(r) {
			if i > gap {
				spans = append(spans, span{gap, i, false})
			}
			spans = append(spans, span{i, i + n, true})
			gap = i + n
		}
		i += n
	}
	if gap < len(s) {
		spans = append(spans, span{gap, len(s), false})
	}
	return spans
}

// regexSpans marks the matches of re.
func regexSpans(s string, re *regexp.Regexp) []span {
	var spans []span
	gap := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		if m[1] == m[0] {
			continue
		}
		if m[0] > gap {
			spans = append(spans, span{gap, m[0], false})
		}
		spans = append(spans, span{m[0], m[1], true})
		gap = m[1]
	}
	if gap < len(s) {
		spans = append(spans, span{gap, len(s), false})
	}
	return spans
}

// invert swaps matches and gaps.
func invert(spans []span) []span {
	for i := range spans {
		spans[i].match = !spans[i].match
	}
	return spans
}

func eachWord(f func(word) []word) preTokenizer {
	return func(words []word) []word {
		var out []word
		for _, w := range words {
			out = append(out, f(w)...)
		}
		return out
	}
}

// rawPreTokenizer is every field that a pre-tokenizer of tokenizer.json can have.
type rawPreTokenizer struct {
	Type           string            `json:"type"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Replacement    *string           `json:"replacement"`
	PrependScheme  *string           `json:"prepend_scheme"`
	Split          *bool             `json:"split"`
	Behavior       string            `json:"behavior"`
	Pattern        *rawPattern       `json:"pattern"`
	Invert         bool              `json:"invert"`
}

func parsePreTokenizer(data json.RawMessage, depth int) (preTokenizer, error) {
	var r rawPreTokenizer
	if ok, err := decodeComponent(data, depth, "pre_tokenizer", &r); !ok {
		return nil, err
	}
	switch r.Type {
	case "BertPreTokenizer":
		return eachWord(bertSplit), nil
	case "WhitespaceSplit":
		return eachWord(func(w word) []word { return splitWord(w, charSpans(w.text, isWhitespace), removed) }), nil
	case "Whitespace":
		return eachWord(func(w word) []word { return splitWord(w, whitespaceSpans(w.text), removed) }), nil
	case "Punctuation":
		b, err := parseBehavior(r.Behavior)
		if err != nil {
			return nil, err
		}
		return eachWord(func(w word) []word { return splitWord(w, charSpans(w.text, isPunctuation), b) }), nil
	case "Split":
		b, err := parseBehavior(r.Behavior)
		if err != nil {
			return nil, err
		}
		re, err := r.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		return eachWord(func(w word) []word {
			spans := regexSpans(w.text, re)
			if r.Invert {
				spans = invert(spans)
			}
			return splitWord(w, spans, b)
		}), nil
	case "Metaspace":
		return parseMetaspace(r)
	case "ByteLevel":
		prefix, useRegex := orDefault(r.AddPrefixSpace, true), orDefault(r.UseRegex, true)
		return eachWord(func(w word) []word {
			if prefix && w.text != "" && w.text[0] != ' ' {
				w.text = " " + w.text
			}
			words := []word{w}
			if useRegex {
				words = splitWord(w, gpt2Spans(w.text), isolated)
			}
			for i := range words {
				words[i].text = byteLevel(words[i].text)
			}
			return words
		}), nil
	case "Sequence":
		seq, err := parseEach(r.PreTokenizers, depth, parsePreTokenizer)
		if err != nil {
			return nil, err
		}
		return func(words []word) []word {
			for _, p := range seq {
				words = p(words)
			}
			return words
		}, nil
	}
	return nil, fmt.Errorf("%w: pre-tokenizer %q", ErrUnsupported, r.Type)
}

// bertSplit is BertPreTokenizer: split on white space, which is dropped, and around every
// punctuation character, which becomes a word of its own.
func bertSplit(w word) []word {
	var out []word
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, word{w.text[start:end], w.atStart && start == 0})
		}
	}
	for i := 0; i < len(w.text); {
		r, n := utf8.DecodeRuneInString(w.text[i:])
		switch {
		case isWhitespace(r):
			flush(i)
			start = i + n
		case isPunctuation(r):
			flush(i)
			start = i
			flush(i + n)
			start = i + n
		}
		i += n
	}
	flush(len(w.text))
	return out
}

// parseMetaspace builds SentencePiece's pre-tokenizer: spaces become the replacement (▁), which
// is prepended to the word (always, or only at the start of the input, or never), and the word
// is split before every replacement.
func parseMetaspace(r rawPreTokenizer) (preTokenizer, error) {
	rep := "▁"
	if r.Replacement != nil {
		rep = *r.Replacement
	}
	if utf8.RuneCountInString(rep) != 1 {
		return nil, fmt.Errorf("%w: Metaspace replacement %q is not one character", ErrInvalid, rep)
	}
	repRune, _ := utf8.DecodeRuneInString(rep)
	scheme := "always"
	if r.PrependScheme != nil {
		scheme = *r.PrependScheme
	} else if r.AddPrefixSpace != nil && !*r.AddPrefixSpace {
		scheme = "never"
	}
	if scheme != "always" && scheme != "first" && scheme != "never" {
		return nil, fmt.Errorf("%w: Metaspace prepend_scheme %q", ErrUnsupported, scheme)
	}
	split := orDefault(r.Split, true)
	return eachWord(func(w word) []word {
		w.text = strings.ReplaceAll(w.text, " ", rep)
		if w.text != "" && !strings.HasPrefix(w.text, rep) && (scheme == "always" || scheme == "first" && w.atStart) {
			w.text = rep + w.text
		}
		if !split {
			return []word{w}
		}
		return splitWord(w, charSpans(w.text, func(c rune) bool { return c == repRune }), mergedWithNext)
	}), nil
}

// whitespaceSpans marks the matches of HF's Whitespace pattern \w+|[^\w\s]+ as gaps (they are
// kept) and the white space between them as matches (removed). HF runs this pattern on Rust's
// regex crate, whose \w, unlike Oniguruma's, includes the zero-width (non-)joiners.
func whitespaceSpans(s string) []span {
	var spans []span
	class := func(r rune) int {
		switch {
		case isWordChar(r) || r == 0x200C || r == 0x200D:
			return 1
		case isWhitespace(r):
			return 0
		}
		return 2
	}
	start, cur := 0, -1
	for i, r := range s {
		c := class(r)
		if c != cur {
			if i > start {
				spans = append(spans, span{start, i, cur == 0})
			}
			start, cur = i, c
		}
	}
	if len(s) > start {
		spans = append(spans, span{start, len(s), cur == 0})
	}
	return spans
}

// gpt2Spans marks the matches of GPT-2's pattern, which ByteLevel splits with:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written out by hand because Go's regexp has no look-ahead.
func gpt2Spans(s string) []span {
	var spans []span
	isL := unicode.IsLetter
	isN := func(r rune) bool { return unicode.In(r, unicode.N) }
	isOtherChar := func(r rune) bool { return !isWhitespace(r) && !isL(r) && !isN(r) }
	run := func(i int, f func(rune) bool) int { // end of the run of f from i
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !f(r) {
				break
			}
			i += n
		}
		return i
	}
	for i := 0; i < len(s); {
		end := gpt2Match(s, i, isL, isN, isOtherChar, run)
		spans = append(spans, span{i, end, true})
		i = end
	}
	return spans
}

func gpt2Match(s string, i int, isL, isN, isOther func(rune) bool, run func(int, func(rune) bool) int) int {
	if s[i] == '\'' {
		for _, c := range []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
			if strings.HasPrefix(s[i:], c) {
				return i + len(c)
			}
		}
	}
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		for _, f := range []func(rune) bool{isL, isN, isOther} {
			if f(r) {
				return run(j, f)
			}
		}
	}
	// White space: \s+(?!\S) takes the run but its last character when a non-space follows;
	// a single white space before a non-space is taken by \s+ alone.
	end := run(i, isWhitespace)
	if end == len(s) {
		return end
	}
	_, last := utf8.DecodeLastRuneInString(s[i:end])
	if end-last > i {
		return end - last
	}
	return end
}

// byteToRune is GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others
// for the code points from 256 up.
var byteToRune = func() [256]rune {
	var t [256]rune
	n := rune(256)
	for b := 0; b < 256; b++ {
		if b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174 {
			t[b] = rune(b)
		} else {
			t[b] = n
			n++
		}
	}
	return t
}()

// byteLevel maps every byte of s to its GPT-2 character.
func byteLevel(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}
