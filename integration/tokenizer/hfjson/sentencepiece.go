package hfjson

import (
	"encoding/json"
	"fmt"
	"os"
)

// SentencePieceOptions are the arguments of transformers' DebertaV2Tokenizer that change how an
// spm.model encodes; the zero value is DeBERTa-v3's (cased, no punctuation split, a prefix space).
type SentencePieceOptions struct {
	// DoLowerCase lower-cases the text first.
	DoLowerCase bool
	// SplitByPunct splits words around every punctuation character.
	SplitByPunct bool
	// NoPrefixSpace prepends "▁" only at the start of the text, not after every special token
	// (transformers' add_prefix_space=False).
	NoPrefixSpace bool
	// Cls, Sep, Unk, Pad and Mask name the special tokens; empty means [CLS], [SEP], [UNK],
	// [PAD] and [MASK]. A mask token that the model lacks is appended after its pieces, as
	// DeBERTa-v3 does with [MASK].
	Cls, Sep, Unk, Pad, Mask string
}

// LoadSentencePiece reads a SentencePiece Unigram model (spm.model, as DeBERTa-v2/v3 ship) and
// encodes as transformers 5's DebertaV2Tokenizer built from it.
func LoadSentencePiece(path string, opts SentencePieceOptions) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hfjson: %w", err)
	}
	t, err := ParseSentencePiece(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseSentencePiece is LoadSentencePiece on the contents of the file. The pipeline is
// transformers' for DeBERTa-v2: optional Lowercase, white-space runs and \n \r \t replaced by one
// space, NFC, trailing white space stripped; optional Punctuation split, Metaspace; the model's
// pieces and scores as a Unigram; [CLS] A [SEP] (B [SEP]) with type ids 0 and 1. The model's
// control and user-defined pieces are cut out of the text whole, as in transformers, and a pair
// whose second text is empty is encoded as a single sentence.
func ParseSentencePiece(data []byte, opts SentencePieceOptions) (*Tokenizer, error) {
	spm, err := parseSPM(data)
	if err != nil {
		return nil, err
	}
	if spm.modelType != 1 {
		return nil, fmt.Errorf("%w: SentencePiece model type %d (only Unigram, 1, is implemented)", ErrUnsupported, spm.modelType)
	}
	name := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	cls, sep, unk := name(opts.Cls, "[CLS]"), name(opts.Sep, "[SEP]"), name(opts.Unk, "[UNK]")
	pad, mask := name(opts.Pad, "[PAD]"), name(opts.Mask, "[MASK]")

	pieces := make([]unigramPiece, len(spm.pieces))
	ids := make(map[string]int, len(spm.pieces))
	unkID := spm.unkID
	for i, p := range spm.pieces {
		pieces[i] = unigramPiece{p.piece, float64(p.score)}
		if _, dup := ids[p.piece]; !dup {
			ids[p.piece] = i
		}
		if p.piece == unk && p.score == 0 { // transformers looks the unknown token up by (name, 0.0)
			unkID = i
		}
	}
	model, err := newUnigram(pieces, unkID, false)
	if err != nil {
		return nil, err
	}
	var added []addedToken
	for i, p := range spm.pieces {
		if p.typ == pieceControl || p.typ == pieceUserDefined {
			added = append(added, addedToken{ID: i, Content: p.piece, Special: p.typ == pieceControl})
		}
	}
	for _, s := range []string{cls, sep, unk, pad, mask} {
		id, ok := ids[s]
		if !ok && s == mask {
			id, ok = len(spm.pieces), true
			ids[s] = id
		}
		if !ok {
			return nil, fmt.Errorf("%w: special token %s is not a piece of the model", ErrInvalid, s)
		}
		added = append(added, addedToken{ID: id, Content: s, Special: true})
	}

	var norms []any
	if opts.DoLowerCase {
		norms = append(norms, map[string]any{"type": "Lowercase"})
	}
	norms = append(norms,
		map[string]any{"type": "Replace", "pattern": map[string]string{"Regex": `\s{2,}|[\n\r\t]`}, "content": " "},
		map[string]any{"type": "NFC"},
		map[string]any{"type": "Strip", "strip_left": false, "strip_right": true},
	)
	var pres []any
	if opts.SplitByPunct {
		pres = append(pres, map[string]any{"type": "Punctuation", "behavior": "Isolated"})
	}
	scheme := "always"
	if opts.NoPrefixSpace {
		scheme = "first"
	}
	pres = append(pres, map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true})
	special := func(s string) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": s, "type_id": 0}}
	}
	seq := func(s string, typeID int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": s, "type_id": typeID}}
	}
	sepB := special(sep)
	sepB["SpecialToken"].(map[string]any)["type_id"] = 1
	post := map[string]any{
		"type":   "TemplateProcessing",
		"single": []any{special(cls), seq("A", 0), special(sep)},
		"pair":   []any{special(cls), seq("A", 0), special(sep), seq("B", 1), sepB},
		"special_tokens": map[string]any{
			cls: map[string]any{"id": cls, "ids": []int{ids[cls]}, "tokens": []string{cls}},
			sep: map[string]any{"id": sep, "ids": []int{ids[sep]}, "tokens": []string{sep}},
		},
	}
	t, err := assemble(model, added,
		mustJSON(map[string]any{"type": "Sequence", "normalizers": norms}),
		mustJSON(map[string]any{"type": "Sequence", "pretokenizers": pres}),
		mustJSON(post))
	if err != nil {
		return nil, err
	}
	t.dropEmptyPair = true
	return t, nil
}

// mustJSON marshals a value built of maps, slices and strings, which cannot fail.
func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
