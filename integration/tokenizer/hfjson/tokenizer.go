package hfjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// maxNesting bounds how deeply Sequence components may nest.
const maxNesting = 16

// Tokenizer encodes text as the tokenizer.json or spm.model it was loaded from. It is safe for
// concurrent use.
type Tokenizer struct {
	raw         []addedToken // not normalized, matched in the input
	normAdded   []addedToken // normalized, matched in the normalized text
	normalize   normalizer
	preTokenize preTokenizer
	model       model
	post        *template
	truncation  *truncation
	tokens      map[int]string // id → token, the model's and the added ones
	ids         map[string]int
	padID       int
	// dropEmptyPair encodes a pair with an empty second text as the first alone, as
	// transformers does (it tests the text for truth); `tokenizers` keeps the empty sequence.
	dropEmptyPair bool
}

var _ tokenizer.Encoder = (*Tokenizer)(nil)

// truncation is tokenizer.json's truncation section.
type truncation struct {
	MaxLength int    `json:"max_length"`
	Strategy  string `json:"strategy"`
	Direction string `json:"direction"`
	Stride    int    `json:"stride"`
}

// rawFile is the layout of tokenizer.json.
type rawFile struct {
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Truncation    *truncation     `json:"truncation"`
	Padding       *struct {
		PadID int `json:"pad_id"`
	} `json:"padding"`
}

// Load reads a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hfjson: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads the contents of a tokenizer.json file.
func Parse(data []byte) (*Tokenizer, error) {
	var f rawFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if isNull(f.Model) {
		return nil, fmt.Errorf("%w: no model", ErrInvalid)
	}
	m, err := parseModel(f.Model)
	if err != nil {
		return nil, err
	}
	t, err := assemble(m, f.AddedTokens, f.Normalizer, f.PreTokenizer, f.PostProcessor)
	if err != nil {
		return nil, err
	}
	if tr := f.Truncation; tr != nil {
		if err := tr.check(); err != nil {
			return nil, err
		}
		t.truncation = tr
	}
	if f.Padding != nil {
		t.padID = f.Padding.PadID
	}
	return t, nil
}

// assemble builds a tokenizer from its model, added tokens and the tokenizer.json descriptions
// of its other components.
func assemble(m model, added []addedToken, norm, pre, post json.RawMessage) (*Tokenizer, error) {
	t := &Tokenizer{model: m, padID: -1}
	var err error
	if t.normalize, err = parseNormalizer(norm, 0); err != nil {
		return nil, err
	}
	if t.preTokenize, err = parsePreTokenizer(pre, 0); err != nil {
		return nil, err
	}
	if t.post, err = parsePostProcessor(post, 0); err != nil {
		return nil, err
	}
	if err := t.setVocabulary(added); err != nil {
		return nil, err
	}
	return t, nil
}

func (tr *truncation) check() error {
	switch tr.Strategy {
	case "", "LongestFirst", "OnlyFirst", "OnlySecond":
	default:
		return fmt.Errorf("%w: truncation strategy %q", ErrUnsupported, tr.Strategy)
	}
	switch tr.Direction {
	case "", "Right", "Left":
	default:
		return fmt.Errorf("%w: truncation direction %q", ErrUnsupported, tr.Direction)
	}
	if tr.MaxLength < 0 || tr.Stride != 0 {
		return fmt.Errorf("%w: truncation max_length %d, stride %d", ErrUnsupported, tr.MaxLength, tr.Stride)
	}
	return nil
}

// setVocabulary records the added tokens and the id ↔ token maps. An added token's id is the
// one its content already has (in the model or among the tokens added before it), else the next
// after the model's vocabulary and the added ids, as HF assigns them when it reads the file (the
// ids written in added_tokens are only checked there, with a warning).
func (t *Tokenizer) setVocabulary(added []addedToken) error {
	vocab := t.model.vocabulary()
	t.ids = make(map[string]int, len(vocab)+len(added))
	t.tokens = make(map[int]string, len(vocab)+len(added))
	for tok, id := range vocab {
		t.ids[tok] = id
		t.tokens[id] = tok
	}
	size, maxAdded := len(vocab), -1
	for _, a := range added {
		if a.ID < 0 {
			return fmt.Errorf("%w: added token %q with id %d", ErrInvalid, a.Content, a.ID)
		}
		if a.Content == "" {
			continue
		}
		id, known := t.ids[a.Content]
		if !known {
			id = size
			if maxAdded >= size || size == 0 {
				id = maxAdded + 1
			}
		}
		maxAdded = max(maxAdded, id)
		a.ID = id
		t.ids[a.Content] = id
		t.tokens[id] = a.Content
		if a.Normalized && t.normalize != nil {
			a.Content = t.normalize(a.Content)
			if a.Content == "" {
				continue
			}
			t.normAdded = append(t.normAdded, a)
		} else {
			t.raw = append(t.raw, a)
		}
	}
	return nil
}

// ID returns the id of token and whether the vocabulary (with the added tokens) has it.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// Token returns the token of id and whether there is one.
func (t *Tokenizer) Token(id int) (string, bool) {
	tok, ok := t.tokens[id]
	return tok, ok
}

// VocabSize is one more than the largest id, the size of the model's embedding table.
func (t *Tokenizer) VocabSize() int {
	n := 0
	for id := range t.tokens {
		n = max(n, id+1)
	}
	return n
}

// PadID returns the padding id of tokenizer.json's padding section, or the id of the first of
// [PAD], <pad> that the vocabulary has; false if neither.
func (t *Tokenizer) PadID() (int, bool) {
	if t.padID >= 0 {
		return t.padID, true
	}
	for _, p := range []string{"[PAD]", "<pad>"} {
		if id, ok := t.ids[p]; ok {
			return id, true
		}
	}
	return 0, false
}

// Tokenize returns the tokens of text without special tokens and without truncation.
func (t *Tokenizer) Tokenize(text string) []string {
	toks := t.tokenize(text)
	out := make([]string, len(toks))
	for i, tk := range toks {
		out[i] = tk.text
	}
	return out
}

// Encode returns the model input for one sentence, with the special tokens of the
// post-processor. With maxLen > 0 the whole is cut to at most maxLen tokens (HF's
// truncation=True, max_length=maxLen); with maxLen 0 the truncation of tokenizer.json applies, if
// it has one. The special tokens are always kept: a maxLen below their number leaves only them,
// where HF's subtraction wraps around and nothing is cut.
func (t *Tokenizer) Encode(text string, maxLen int) tokenizer.Encoding {
	a := t.tokenize(text)
	a, _ = t.truncate(a, nil, false, maxLen)
	return t.process(a, nil, false)
}

// EncodePair returns the model input for a pair of sentences (as [CLS] a [SEP] b [SEP] or
// <s> a </s></s> b </s>, with the type ids of the post-processor). With maxLen > 0 the tokens
// are cut as HF's 'longest_first': the longer sequence loses tokens until both are as long,
// then both lose alike, an odd one left going to the second. An empty b is an empty second
// sequence for a tokenizer.json, as in `tokenizers`; for an spm.model, as in transformers, it
// makes the input a single sentence.
func (t *Tokenizer) EncodePair(a, b string, maxLen int) tokenizer.Encoding {
	if b == "" && t.dropEmptyPair {
		return t.Encode(a, maxLen)
	}
	ta, tb := t.tokenize(a), t.tokenize(b)
	ta, tb = t.truncate(ta, tb, true, maxLen)
	return t.process(ta, tb, true)
}

// tokenize runs the added tokens, normalizer, pre-tokenizer and model.
func (t *Tokenizer) tokenize(text string) []token {
	var out []token
	for _, seg := range splitAdded(text, t.raw) {
		if seg.id >= 0 {
			out = append(out, token{seg.id, t.tokens[seg.id]})
			continue
		}
		s := seg.text
		if t.normalize != nil {
			s = t.normalize(s)
		}
		for _, sub := range splitAdded(s, t.normAdded) {
			if sub.id >= 0 {
				out = append(out, token{sub.id, t.tokens[sub.id]})
				continue
			}
			if sub.text == "" {
				continue
			}
			words := []word{{sub.text, seg.start == 0 && sub.start == 0}}
			if t.preTokenize != nil {
				words = t.preTokenize(words)
			}
			for _, w := range words {
				out = t.model.tokenize(out, w.text)
			}
		}
	}
	return out
}

// truncate cuts the sequences so that with the special tokens they fit maxLen, or the file's
// truncation when maxLen is 0, with the arithmetic of HF's truncate_encodings.
func (t *Tokenizer) truncate(a, b []token, pair bool, maxLen int) ([]token, []token) {
	tr := truncation{MaxLength: maxLen, Strategy: "LongestFirst", Direction: "Right"}
	if maxLen <= 0 {
		if t.truncation == nil {
			return a, b
		}
		tr = *t.truncation
	}
	budget := max(tr.MaxLength-t.added(pair), 0)
	cut := func(s []token, n int) []token {
		if n >= len(s) {
			return s
		}
		if tr.Direction == "Left" {
			return s[len(s)-n:]
		}
		return s[:n]
	}
	total := len(a) + len(b)
	if total <= budget {
		return a, b
	}
	switch {
	case !pair || tr.Strategy == "OnlyFirst":
		if pair && len(a) <= total-budget {
			return a, b // HF refuses: the first sequence is too short
		}
		return cut(a, len(a)-(total-budget)), b
	case tr.Strategy == "OnlySecond":
		if len(b) <= total-budget {
			return a, b
		}
		return a, cut(b, len(b)-(total-budget))
	}
	n1, n2 := len(a), len(b)
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	if n1 > budget {
		n2 = n1
	} else {
		n2 = max(n1, budget-n1)
	}
	if n1+n2 > budget {
		n1 = budget / 2
		n2 = n1 + budget%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return cut(a, n1), cut(b, n2)
}

// added is the number of special tokens the post-processor adds.
func (t *Tokenizer) added(pair bool) int {
	switch {
	case t.post == nil:
		return 0
	case pair:
		return added(t.post.pair)
	}
	return added(t.post.single)
}

// process lays the sequences out with the post-processor's special tokens and type ids.
func (t *Tokenizer) process(a, b []token, pair bool) tokenizer.Encoding {
	n := len(a) + len(b) + t.added(pair)
	e := tokenizer.Encoding{Tokens: make([]string, 0, n), IDs: make([]int, 0, n), TypeIDs: make([]int, 0, n)}
	add := func(toks []token, typeID int) {
		for _, tk := range toks {
			e.Tokens = append(e.Tokens, tk.text)
			e.IDs = append(e.IDs, tk.id)
			e.TypeIDs = append(e.TypeIDs, typeID)
		}
	}
	if t.post == nil {
		add(a, 0)
		if pair {
			add(b, 1)
		}
		return e
	}
	layout := t.post.single
	if pair {
		layout = t.post.pair
	}
	for _, p := range layout {
		switch {
		case p.special != nil:
			add(p.special, p.typeID)
		case p.sequence == 0:
			add(a, p.typeID)
		default:
			add(b, p.typeID)
		}
	}
	return e
}

// decodeComponent unmarshals one component of the pipeline into v; ok is false, with a nil error,
// for a null one.
func decodeComponent(data json.RawMessage, depth int, what string, v any) (ok bool, err error) {
	if isNull(data) {
		return false, nil
	}
	if depth > maxNesting {
		return false, fmt.Errorf("%w: %s nested deeper than %d", ErrInvalid, what, maxNesting)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
	}
	return true, nil
}

// parseEach parses the components of a Sequence, skipping null ones.
func parseEach[T any](raws []json.RawMessage, depth int, parse func(json.RawMessage, int) (T, error)) ([]T, error) {
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		if isNull(raw) {
			continue
		}
		c, err := parse(raw, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func isNull(data json.RawMessage) bool {
	d := bytes.TrimSpace(data)
	return len(d) == 0 || bytes.Equal(d, []byte("null"))
}

// truncate shortens data for an error message.
func truncate(data []byte) string {
	if len(data) > 40 {
		return string(data[:40]) + "…"
	}
	return string(data)
}
