package tokenizer

// Encoding is one model input: the tokens with [CLS] and [SEP], their ids, and the token type
// (segment) ids, 0 for the first sequence and 1 for the second.
type Encoding struct {
	Tokens  []string
	IDs     []int
	TypeIDs []int
}

// Tokenize returns the word pieces of text, without special tokens. Special tokens written in
// the text ("[MASK]") are kept whole.
func (t *Tokenizer) Tokenize(text string) []string {
	pieces := t.pieces(text)
	tokens := make([]string, len(pieces))
	for i, p := range pieces {
		tokens[i] = p.token
	}
	return tokens
}

// Encode returns [CLS] text [SEP]. With maxLen > 0 the text's pieces are cut from the end so
// that the whole is at most maxLen long; [CLS] and [SEP] are always kept (so maxLen < 2 still
// gives both, where HF logs an error and leaves the text untruncated).
func (t *Tokenizer) Encode(text string, maxLen int) Encoding {
	pieces := t.pieces(text)
	if maxLen > 0 {
		pieces = pieces[:min(len(pieces), max(maxLen-2, 0))]
	}
	e := newEncoding(len(pieces) + 2)
	e.add(t.tokens[t.clsID], t.clsID, 0)
	e.addPieces(pieces, 0)
	e.add(t.tokens[t.sepID], t.sepID, 0)
	return e
}

// EncodePair returns [CLS] a [SEP] b [SEP], type ids 0 up to the first [SEP] and 1 after it.
// With maxLen > 0 it truncates like HF's slow tokenizer with truncation='longest_first': tokens
// are removed from the end of the longer sequence until both are equally long, then from both
// alike, the first keeping the odd one left. The three special tokens are always kept.
func (t *Tokenizer) EncodePair(a, b string, maxLen int) Encoding {
	pa := t.pieces(a)
	pb := t.pieces(b)
	if maxLen > 0 {
		na, nb := longestFirst(len(pa), len(pb), maxLen-3)
		pa, pb = pa[:na], pb[:nb]
	}
	e := newEncoding(len(pa) + len(pb) + 3)
	e.add(t.tokens[t.clsID], t.clsID, 0)
	e.addPieces(pa, 0)
	e.add(t.tokens[t.sepID], t.sepID, 0)
	e.addPieces(pb, 1)
	e.add(t.tokens[t.sepID], t.sepID, 1)
	return e
}

// longestFirst returns the lengths n1, n2 are cut to so that they sum to at most budget, with
// the arithmetic of transformers' truncate_sequences (slow tokenizers).
func longestFirst(n1, n2, budget int) (int, int) {
	remove := n1 + n2 - max(budget, 0)
	if remove <= 0 {
		return n1, n2
	}
	first := min(max(n1-n2, n2-n1), remove) // evens the lengths
	second := remove - first                // shared once even
	var cut1, cut2 int
	if n1 > n2 {
		cut1, cut2 = first+second/2, second-second/2
	} else {
		cut1, cut2 = second/2, first+second-second/2
	}
	return max(n1-cut1, 0), max(n2-cut2, 0)
}

func newEncoding(n int) Encoding {
	return Encoding{Tokens: make([]string, 0, n), IDs: make([]int, 0, n), TypeIDs: make([]int, 0, n)}
}

func (e *Encoding) add(token string, id, typeID int) {
	e.Tokens = append(e.Tokens, token)
	e.IDs = append(e.IDs, id)
	e.TypeIDs = append(e.TypeIDs, typeID)
}

func (e *Encoding) addPieces(pieces []piece, typeID int) {
	for _, p := range pieces {
		e.add(p.token, p.id, typeID)
	}
}
