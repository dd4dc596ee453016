package hfjson

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// token is one model token.
type token struct {
	id   int
	text string
}

// model turns one pre-tokenized word into tokens, appended to dst.
type model interface {
	tokenize(dst []token, w string) []token
	vocabulary() map[string]int
}

// rawModel is every field that a model of tokenizer.json can have. Vocab is a token → id map
// (WordPiece, BPE) or a list of [piece, score] (Unigram).
type rawModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	UnkToken                *string         `json:"unk_token"`
	UnkID                   *int            `json:"unk_id"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
	Merges                  json.RawMessage `json:"merges"`
	Dropout                 *float64        `json:"dropout"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
}

func parseModel(data json.RawMessage) (model, error) {
	var r rawModel
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: model: %w", ErrInvalid, err)
	}
	if r.Type == "" { // old files name no type: tell the models apart by their fields
		switch {
		case r.Merges != nil:
			r.Type = "BPE"
		case r.UnkID != nil:
			r.Type = "Unigram"
		case r.MaxInputCharsPerWord != nil:
			r.Type = "WordPiece"
		}
	}
	switch r.Type {
	case "WordPiece":
		return newWordPiece(r)
	case "BPE":
		return newBPE(r)
	case "Unigram":
		var pieces []unigramPiece
		if err := json.Unmarshal(r.Vocab, &pieces); err != nil {
			return nil, fmt.Errorf("%w: Unigram vocab: %w", ErrInvalid, err)
		}
		unk := -1
		if r.UnkID != nil {
			unk = *r.UnkID
		}
		return newUnigram(pieces, unk, r.ByteFallback)
	}
	return nil, fmt.Errorf("%w: model %q", ErrUnsupported, r.Type)
}

// tokenMap parses a token → id vocabulary; ids must be distinct and non-negative.
func tokenMap(data json.RawMessage) (map[string]int, error) {
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("%w: vocab: %w", ErrInvalid, err)
	}
	seen := make(map[int]string, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("%w: vocab: token %q has id %d", ErrInvalid, tok, id)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: vocab: tokens %q and %q share id %d", ErrInvalid, prev, tok, id)
		}
		seen[id] = tok
	}
	return vocab, nil
}

// wordPiece is BERT's greedy longest-match-first model.
type wordPiece struct {
	vocab        map[string]int
	unk          token
	prefix       string
	maxWordChars int
	// maxKeyBytes is the length of the longest vocabulary entry: no longer piece is tried.
	maxKeyBytes int
}

func newWordPiece(r rawModel) (*wordPiece, error) {
	vocab, err := tokenMap(r.Vocab)
	if err != nil {
		return nil, err
	}
	m := &wordPiece{vocab: vocab, prefix: "##", maxWordChars: 100}
	if r.ContinuingSubwordPrefix != nil {
		m.prefix = *r.ContinuingSubwordPrefix
	}
	if r.MaxInputCharsPerWord != nil {
		m.maxWordChars = *r.MaxInputCharsPerWord
	}
	for tok := range vocab {
		m.maxKeyBytes = max(m.maxKeyBytes, len(tok))
	}
	unk := "[UNK]"
	if r.UnkToken != nil {
		unk = *r.UnkToken
	}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("%w: WordPiece unk_token %q is not in the vocabulary", ErrInvalid, unk)
	}
	m.unk = token{id, unk}
	return m, nil
}

func (m *wordPiece) vocabulary() map[string]int { return m.vocab }

func (m *wordPiece) tokenize(dst []token, w string) []token {
	if utf8.RuneCountInString(w) > m.maxWordChars {
		return append(dst, m.unk)
	}
	mark := len(dst)
	var buf []byte // prefix + piece, for continuations
	for start := 0; start < len(w); {
		limit := m.maxKeyBytes
		if start > 0 {
			limit -= len(m.prefix)
		}
		end := min(len(w), start+max(limit, 0))
		found := false
		for ; end > start; end-- {
			if end < len(w) && !utf8.RuneStart(w[end]) {
				continue
			}
			if start == 0 {
				if id, ok := m.vocab[w[:end]]; ok {
					dst = append(dst, token{id, w[:end]})
					found = true
					break
				}
				continue
			}
			buf = append(append(buf[:0], m.prefix...), w[start:end]...)
			if id, ok := m.vocab[string(buf)]; ok { // no allocation: map index by converted bytes
				dst = append(dst, token{id, string(buf)})
				found = true
				break
			}
		}
		if !found {
			return append(dst[:mark], m.unk)
		}
		start = end
	}
	return dst
}

// bpe is byte-pair encoding: the word's characters are merged pair by pair, the pair of lowest
// rank first (leftmost among equals), as HF's BPE without dropout.
type bpe struct {
	vocab        map[string]int
	tokens       map[int]string
	merges       map[[2]int]bpeMerge
	unk          *token
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
}

// bpeMerge is the rank of a pair and the id of the token it merges into.
type bpeMerge struct{ rank, id int }

func newBPE(r rawModel) (*bpe, error) {
	if r.Dropout != nil && *r.Dropout != 0 {
		return nil, fmt.Errorf("%w: BPE dropout %v (encoding would be random)", ErrUnsupported, *r.Dropout)
	}
	vocab, err := tokenMap(r.Vocab)
	if err != nil {
		return nil, err
	}
	m := &bpe{vocab: vocab, tokens: make(map[int]string, len(vocab)), fuseUnk: r.FuseUnk,
		byteFallback: r.ByteFallback, ignoreMerges: r.IgnoreMerges}
	for tok, id := range vocab {
		m.tokens[id] = tok
	}
	if r.ContinuingSubwordPrefix != nil {
		m.prefix = *r.ContinuingSubwordPrefix
	}
	if r.EndOfWordSuffix != nil {
		m.suffix = *r.EndOfWordSuffix
	}
	if r.UnkToken != nil {
		id, ok := vocab[*r.UnkToken]
		if !ok {
			return nil, fmt.Errorf("%w: BPE unk_token %q is not in the vocabulary", ErrInvalid, *r.UnkToken)
		}
		m.unk = &token{id, *r.UnkToken}
	}
	pairs, err := parseMerges(r.Merges)
	if err != nil {
		return nil, err
	}
	m.merges = make(map[[2]int]bpeMerge, len(pairs))
	for rank, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		merged := p[0] + p[1]
		if m.prefix != "" {
			merged = p[0] + strings.TrimPrefix(p[1], m.prefix)
		}
		id, okM := vocab[merged]
		if !okA || !okB || !okM {
			return nil, fmt.Errorf("%w: BPE merge %d (%q %q) has a token outside the vocabulary", ErrInvalid, rank, p[0], p[1])
		}
		if _, dup := m.merges[[2]int{a, b}]; !dup {
			m.merges[[2]int{a, b}] = bpeMerge{rank, id}
		}
	}
	return m, nil
}

// parseMerges reads merges written as "a b" strings (tokenizers < 0.20) or as [a, b] pairs.
func parseMerges(data json.RawMessage) ([][2]string, error) {
	if isNull(data) {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: BPE merges: %w", ErrInvalid, err)
	}
	out := make([][2]string, len(raw))
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("%w: BPE merge %d %q is not two tokens", ErrInvalid, i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var p []string
		if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
			return nil, fmt.Errorf("%w: BPE merge %d is neither \"a b\" nor [a, b]", ErrInvalid, i)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

func (m *bpe) vocabulary() map[string]int { return m.vocab }

func (m *bpe) tokenize(dst []token, w string) []token {
	if w == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[w]; ok {
			return append(dst, token{id, w})
		}
	}
	// The word's symbols: its characters, with prefix and suffix; -1 marks unknown ones.
	var syms []int
	unkRun := false
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		s := w[i : i+n]
		if i > 0 {
			s = m.prefix + s
		}
		if i+n == len(w) {
			s += m.suffix
		}
		i += n
		if id, ok := m.vocab[s]; ok {
			syms = append(syms, id)
			unkRun = false
			continue
		}
		if m.byteFallback {
			var ids []int
			for _, b := range []byte(w[i-n : i]) {
				if id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
					ids = append(ids, id)
				} else {
					ids = nil
					break
				}
			}
			if ids != nil {
				syms = append(syms, ids...)
				unkRun = false
				continue
			}
		}
		if m.unk == nil {
			continue
		}
		if !(m.fuseUnk && unkRun) {
			syms = append(syms, m.unk.id)
		}
		unkRun = true
	}
	syms = m.mergeAll(syms)
	for _, id := range syms {
		dst = append(dst, token{id, m.tokens[id]})
	}
	return dst
}

// mergeCandidate is a pair of adjacent symbols that a merge applies to: the left one's position,
// the merge's rank and the merged token.
type mergeCandidate struct{ pos, rank, id int }

// mergeQueue orders candidates by rank, then position: HF's order of merging.
type mergeQueue []mergeCandidate

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	return q[i].rank < q[j].rank || q[i].rank == q[j].rank && q[i].pos < q[j].pos
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(mergeCandidate)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// mergeAll applies the merges to the symbols, the pair of lowest rank first and the leftmost
// among equals, with a priority queue over a linked list (as HF's Word::merge_all), so that a
// long word costs n·log n rather than n².
func (m *bpe) mergeAll(syms []int) []int {
	if len(syms) < 2 {
		return syms
	}
	n := len(syms)
	prev, next := make([]int, n), make([]int, n)
	removed := make([]bool, n)
	q := make(mergeQueue, 0, n)
	for i := range syms {
		prev[i], next[i] = i-1, i+1
		if i+1 < n {
			if mg, ok := m.merges[[2]int{syms[i], syms[i+1]}]; ok {
				q = append(q, mergeCandidate{i, mg.rank, mg.id})
			}
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		top := heap.Pop(&q).(mergeCandidate)
		right := next[top.pos]
		if removed[top.pos] || right >= n {
			continue
		}
		if mg, ok := m.merges[[2]int{syms[top.pos], syms[right]}]; !ok || mg.id != top.id {
			continue // the pair has changed since the candidate was queued
		}
		syms[top.pos] = top.id
		removed[right] = true
		next[top.pos] = next[right]
		if next[right] < n {
			prev[next[right]] = top.pos
		}
		if p := prev[top.pos]; p >= 0 {
			if mg, ok := m.merges[[2]int{syms[p], syms[top.pos]}]; ok {
				heap.Push(&q, mergeCandidate{p, mg.rank, mg.id})
			}
		}
		if nx := next[top.pos]; nx < n {
			if mg, ok := m.merges[[2]int{syms[top.pos], syms[nx]}]; ok {
				heap.Push(&q, mergeCandidate{top.pos, mg.rank, mg.id})
			}
		}
	}
	out := syms[:0]
	for i, id := range syms {
		if !removed[i] {
			out = append(out, id)
		}
	}
	return out
}
