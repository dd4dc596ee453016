package tokenizer

import "unicode/utf8"

// appendWordPieces splits word greedily into the longest vocabulary entries, continuations
// prefixed with "##". A word longer than maxWordChars code points, or with a remainder that no
// entry starts, becomes a single [UNK].
func (t *Tokenizer) appendWordPieces(dst []piece, word string, sc *scratch) []piece {
	unk := piece{t.tokens[t.unkID], t.unkID}
	if utf8.RuneCountInString(word) > t.maxWordChars {
		return append(dst, unk)
	}
	mark := len(dst)
	for start := 0; start < len(word); {
		end := min(len(word), start+t.maxTokenBytes)
		if start > 0 {
			sc.sub = append(append(sc.sub[:0], "##"...), word[start:end]...)
		}
		id, found := 0, false
		for ; end > start; end-- {
			if end < len(word) && !utf8.RuneStart(word[end]) {
				continue
			}
			if start == 0 {
				id, found = t.vocab[word[:end]]
			} else {
				id, found = t.vocab[string(sc.sub[:2+end-start])] // no allocation: map index by converted bytes
			}
			if found {
				break
			}
		}
		if !found {
			return append(dst[:mark], unk)
		}
		dst = append(dst, piece{t.tokens[id], id})
		start = end
	}
	return dst
}
