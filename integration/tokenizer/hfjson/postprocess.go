package hfjson

import (
	"encoding/json"
	"fmt"
)

// piece of a template: a special token, or sequence A (0) or B (1), with its type id.
type templatePiece struct {
	special  []token // nil for a sequence
	sequence int
	typeID   int
}

// template is the layout of a single sentence and of a pair.
type template struct {
	single, pair []templatePiece
}

// added is the number of special tokens the template adds.
func added(t []templatePiece) int {
	n := 0
	for _, p := range t {
		n += len(p.special)
	}
	return n
}

// rawPostProcessor is every field that a post-processor of tokenizer.json can have.
type rawPostProcessor struct {
	Type          string                     `json:"type"`
	Sep           *rawSpecial                `json:"sep"`
	Cls           *rawSpecial                `json:"cls"`
	Single        []rawTemplatePiece         `json:"single"`
	Pair          []rawTemplatePiece         `json:"pair"`
	SpecialTokens map[string]rawSpecialToken `json:"special_tokens"`
	Processors    []json.RawMessage          `json:"processors"`
}

// rawSpecial is ["[SEP]", 102].
type rawSpecial struct {
	token string
	id    int
}

func (s *rawSpecial) UnmarshalJSON(data []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("special token %s is not [token, id]", truncate(data))
	}
	if err := json.Unmarshal(pair[0], &s.token); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[1], &s.id); err != nil {
		return err
	}
	if s.id < 0 {
		return fmt.Errorf("special token %q has id %d", s.token, s.id)
	}
	return nil
}

type rawTemplatePiece struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"Sequence"`
}

type rawSpecialToken struct {
	ID     string   `json:"id"`
	IDs    []int    `json:"ids"`
	Tokens []string `json:"tokens"`
}

func (r rawPostProcessor) template() (template, error) {
	conv := func(pieces []rawTemplatePiece) ([]templatePiece, error) {
		var out []templatePiece
		for _, p := range pieces {
			switch {
			case p.SpecialToken != nil:
				st, ok := r.SpecialTokens[p.SpecialToken.ID]
				if !ok || len(st.IDs) != len(st.Tokens) || len(st.IDs) == 0 {
					return nil, fmt.Errorf("%w: TemplateProcessing special token %q is not defined", ErrInvalid, p.SpecialToken.ID)
				}
				tp := templatePiece{typeID: p.SpecialToken.TypeID}
				for i, id := range st.IDs {
					if id < 0 {
						return nil, fmt.Errorf("%w: TemplateProcessing special token %q has id %d", ErrInvalid, p.SpecialToken.ID, id)
					}
					tp.special = append(tp.special, token{id, st.Tokens[i]})
				}
				out = append(out, tp)
			case p.Sequence != nil:
				seq := map[string]int{"A": 0, "B": 1}
				n, ok := seq[p.Sequence.ID]
				if !ok {
					return nil, fmt.Errorf("%w: TemplateProcessing sequence %q is neither A nor B", ErrInvalid, p.Sequence.ID)
				}
				out = append(out, templatePiece{sequence: n, typeID: p.Sequence.TypeID})
			default:
				return nil, fmt.Errorf("%w: TemplateProcessing piece is neither SpecialToken nor Sequence", ErrInvalid)
			}
		}
		return out, nil
	}
	single, err := conv(r.Single)
	if err != nil {
		return template{}, err
	}
	pair, err := conv(r.Pair)
	if err != nil {
		return template{}, err
	}
	return template{single, pair}, nil
}

// parsePostProcessor returns the template of the post-processor; without one, sequences are
// concatenated with type ids 0 and 1, as HF does.
func parsePostProcessor(data json.RawMessage, depth int) (*template, error) {
	var r rawPostProcessor
	if ok, err := decodeComponent(data, depth, "post_processor", &r); !ok {
		return nil, err
	}
	seq := func(n, typeID int) templatePiece { return templatePiece{sequence: n, typeID: typeID} }
	spec := func(s *rawSpecial, typeID int) templatePiece {
		return templatePiece{special: []token{{s.id, s.token}}, typeID: typeID}
	}
	switch r.Type {
	case "BertProcessing", "RobertaProcessing":
		if r.Sep == nil || r.Cls == nil {
			return nil, fmt.Errorf("%w: %s without sep or cls", ErrInvalid, r.Type)
		}
		t := template{single: []templatePiece{spec(r.Cls, 0), seq(0, 0), spec(r.Sep, 0)}}
		if r.Type == "BertProcessing" {
			t.pair = []templatePiece{spec(r.Cls, 0), seq(0, 0), spec(r.Sep, 0), seq(1, 1), spec(r.Sep, 1)}
		} else { // RoBERTa: <s> A </s></s> B </s>, every type id 0
			t.pair = []templatePiece{spec(r.Cls, 0), seq(0, 0), spec(r.Sep, 0), spec(r.Sep, 0), seq(1, 0), spec(r.Sep, 0)}
		}
		return &t, nil
	case "TemplateProcessing":
		t, err := r.template()
		if err != nil {
			return nil, err
		}
		return &t, nil
	case "ByteLevel": // it only trims offsets
		return nil, nil
	case "Sequence":
		seq, err := parseEach(r.Processors, depth, parsePostProcessor)
		if err != nil {
			return nil, err
		}
		var found *template
		for _, t := range seq {
			if t != nil {
				if found != nil {
					return nil, fmt.Errorf("%w: a Sequence of two post-processors that add tokens", ErrUnsupported)
				}
				found = t
			}
		}
		return found, nil
	}
	return nil, fmt.Errorf("%w: post-processor %q", ErrUnsupported, r.Type)
}
