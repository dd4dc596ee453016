package tokenizer

import (
	"fmt"
	"slices"
)

// defaultMaxInputCharsPerWord is HF's WordpieceTokenizer default.
const defaultMaxInputCharsPerWord = 100

// Options selects the BasicTokenizer behaviour, with HF BertTokenizer's argument names.
type Options struct {
	// DoLowerCase lower-cases the text (uncased models).
	DoLowerCase bool
	// StripAccents removes accents; nil follows DoLowerCase, as in HF.
	StripAccents *bool
	// TokenizeChineseChars puts every CJK ideograph in a word of its own; nil means true, HF's
	// default.
	TokenizeChineseChars *bool
	// MaxInputCharsPerWord is the length, in code points, above which a word becomes [UNK];
	// 0 means 100, HF's default.
	MaxInputCharsPerWord int
	// NeverSplit lists words that are neither lower-cased, stripped of accents, split on
	// punctuation nor split into word pieces. As in HF, they are compared with the text after
	// lower-casing, so with DoLowerCase only lower-case entries can match.
	NeverSplit []string
}

// Tokenizer turns text into BERT word pieces and ids. It is safe for concurrent use.
type Tokenizer struct {
	vocab  map[string]int
	tokens []string // id → token

	unkID, clsID, sepID, padID int
	// specials are the special tokens present in the vocabulary, cut out of the text whole.
	specials []string

	lowerCase    bool
	stripAccents bool
	chineseChars bool
	maxWordChars int
	neverSplit   map[string]struct{}

	// maxTokenBytes is the length of the longest vocabulary entry; WordPiece never tries a
	// longer piece.
	maxTokenBytes int
	// maxLen is the model_max_length of tokenizer_config.json, 0 if unknown.
	maxLen int
}

// New builds a tokenizer over vocab, whose indices are the token ids. The vocabulary must be
// non-empty, free of duplicates and contain [UNK], [CLS], [SEP] and [PAD]; [MASK] is optional
// (without it, "[MASK]" in text is ordinary text).
func New(vocab []string, opts Options) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, ErrEmptyVocab
	}
	if opts.MaxInputCharsPerWord < 0 {
		return nil, fmt.Errorf("%w: MaxInputCharsPerWord %d is negative", ErrInvalidOptions, opts.MaxInputCharsPerWord)
	}
	t := &Tokenizer{
		vocab:        make(map[string]int, len(vocab)),
		tokens:       slices.Clone(vocab),
		lowerCase:    opts.DoLowerCase,
		stripAccents: opts.DoLowerCase,
		chineseChars: true,
		maxWordChars: defaultMaxInputCharsPerWord,
	}
	if opts.StripAccents != nil {
		t.stripAccents = *opts.StripAccents
	}
	if opts.TokenizeChineseChars != nil {
		t.chineseChars = *opts.TokenizeChineseChars
	}
	if opts.MaxInputCharsPerWord > 0 {
		t.maxWordChars = opts.MaxInputCharsPerWord
	}
	if len(opts.NeverSplit) > 0 {
		t.neverSplit = make(map[string]struct{}, len(opts.NeverSplit))
		for _, w := range opts.NeverSplit {
			t.neverSplit[w] = struct{}{}
		}
	}
	for id, tok := range vocab {
		if prev, dup := t.vocab[tok]; dup {
			return nil, fmt.Errorf("%w: %q at ids %d and %d", ErrDuplicateToken, tok, prev, id)
		}
		t.vocab[tok] = id
		t.maxTokenBytes = max(t.maxTokenBytes, len(tok))
	}
	for _, s := range []struct {
		token string
		id    *int
	}{{UnkToken, &t.unkID}, {ClsToken, &t.clsID}, {SepToken, &t.sepID}, {PadToken, &t.padID}} {
		id, ok := t.vocab[s.token]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrMissingSpecialToken, s.token)
		}
		*s.id = id
	}
	for _, s := range []string{ClsToken, SepToken, PadToken, UnkToken, MaskToken} {
		if _, ok := t.vocab[s]; ok {
			t.specials = append(t.specials, s)
		}
	}
	return t, nil
}

// ID returns the id of token and whether the vocabulary has it.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the token of id and whether id is in the vocabulary.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) {
		return "", false
	}
	return t.tokens[id], true
}

// VocabSize is the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// PadID is the id of [PAD].
func (t *Tokenizer) PadID() int { return t.padID }

// MaxLen is the model_max_length read by FromDir, or 0 if unknown.
func (t *Tokenizer) MaxLen() int { return t.maxLen }
