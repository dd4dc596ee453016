package hfjson

import (
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"
)

// unigramPiece is one [piece, score] entry of a Unigram vocabulary.
type unigramPiece struct {
	piece string
	score float64
}

func (p *unigramPiece) UnmarshalJSON(data []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("Unigram vocabulary entry %s is not [piece, score]", truncate(data))
	}
	if err := json.Unmarshal(pair[0], &p.piece); err != nil {
		return fmt.Errorf("Unigram piece %s: %w", truncate(pair[0]), err)
	}
	if err := json.Unmarshal(pair[1], &p.score); err != nil {
		return fmt.Errorf("Unigram score %s: %w", truncate(pair[1]), err)
	}
	return nil
}

// unkPenalty is how much less than the lowest piece score an unknown character scores
// (SentencePiece's kUnkPenalty).
const unkPenalty = 10.0

// unigram is SentencePiece's Unigram model as HF runs it: the Viterbi path of highest total
// score through every segmentation into vocabulary pieces, unknown characters scoring
// unkPenalty below the worst piece, consecutive unknowns fused into one unk token.
type unigram struct {
	vocab        map[string]int
	scores       []float64
	unkID        int
	minScore     float64
	pieces       *trie
	byteFallback bool
}

func newUnigram(pieces []unigramPiece, unkID int, byteFallback bool) (*unigram, error) {
	if len(pieces) == 0 {
		return nil, fmt.Errorf("%w: Unigram vocabulary is empty", ErrInvalid)
	}
	if unkID < 0 || unkID >= len(pieces) {
		return nil, fmt.Errorf("%w: Unigram unk_id %d outside the vocabulary of %d", ErrInvalid, unkID, len(pieces))
	}
	m := &unigram{vocab: make(map[string]int, len(pieces)), scores: make([]float64, len(pieces)),
		unkID: unkID, minScore: math.Inf(1), byteFallback: byteFallback}
	names := make([]string, len(pieces))
	for id, p := range pieces {
		names[id] = p.piece
		if _, dup := m.vocab[p.piece]; dup {
			return nil, fmt.Errorf("%w: Unigram piece %q appears twice", ErrInvalid, p.piece)
		}
		if math.IsNaN(p.score) || math.IsInf(p.score, 0) {
			return nil, fmt.Errorf("%w: Unigram piece %q has score %v", ErrInvalid, p.piece, p.score)
		}
		m.vocab[p.piece] = id
		m.scores[id] = p.score
		m.minScore = min(m.minScore, p.score)
	}
	m.pieces = newTrie(names)
	return m, nil
}

func (m *unigram) vocabulary() map[string]int { return m.vocab }

// node is the best path ending at a byte position: its score, where its last piece starts and
// the piece's id.
type node struct {
	score float64
	start int
	id    int
}

func (m *unigram) tokenize(dst []token, w string) []token {
	if w == "" {
		return dst
	}
	unkScore := m.minScore - unkPenalty
	best := make([]node, len(w)+1)
	for i := range best {
		best[i].start = -1
	}
	best[0].start = 0
	for start := 0; start < len(w); {
		here := best[start].score
		_, charLen := utf8.DecodeRuneInString(w[start:])
		single := false
		m.pieces.prefixes(w, start, func(end, id int) {
			if n := &best[end]; n.start < 0 || here+m.scores[id] > n.score {
				*n = node{here + m.scores[id], start, id}
			}
			if end-start == charLen {
				single = true
			}
		})
		if !single {
			if n := &best[start+charLen]; n.start < 0 || here+unkScore > n.score {
				*n = node{here + unkScore, start, m.unkID}
			}
		}
		start += charLen
	}
	// Back from the end; consecutive unknowns become one piece.
	var pieces []string
	unkEnd := -1
	for end := len(w); end > 0; {
		n := best[end]
		if n.id == m.unkID {
			if unkEnd < 0 {
				unkEnd = end
			}
		} else {
			if unkEnd >= 0 {
				pieces = append(pieces, w[end:unkEnd])
				unkEnd = -1
			}
			pieces = append(pieces, w[n.start:end])
		}
		end = n.start
	}
	if unkEnd >= 0 {
		pieces = append(pieces, w[:unkEnd])
	}
	for i := len(pieces) - 1; i >= 0; i-- {
		p := pieces[i]
		if id, ok := m.vocab[p]; ok {
			dst = append(dst, token{id, p})
			continue
		}
		if m.byteFallback {
			mark, ok := len(dst), true
			for _, b := range []byte(p) {
				bt := fmt.Sprintf("<0x%02X>", b)
				id, found := m.vocab[bt]
				if !found {
					ok = false
					break
				}
				dst = append(dst, token{id, bt})
			}
			if ok {
				continue
			}
			dst = dst[:mark]
		}
		dst = append(dst, token{m.unkID, p})
	}
	return dst
}
