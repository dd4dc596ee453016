package bert

import (
	"fmt"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
)

// Batch is a batch of tokenised sequences, unpadded: sequences may differ in length.
type Batch struct {
	// IDs holds each sequence's token ids, [CLS] and [SEP] included.
	IDs [][]int
	// TypeIDs holds each sequence's token type ids (segment A = 0, B = 1). Nil, or a nil entry,
	// means all zeros. An architecture without token type embeddings (DistilBERT) ignores them,
	// as transformers does.
	TypeIDs [][]int
	// DropoutKeys, if not nil, holds one key per sequence that, with the model's Seed, fixes the
	// sequence's dropout masks in training mode whatever else the batch holds: a trainer that
	// keys each example by its place in the run (train.Fit does) repeats exactly with any number
	// of workers. Nil draws keys from the model's own generator, in the order the calls come.
	DropoutKeys []uint64
}

// packed is a batch laid out for the encoder: all tokens as consecutive rows.
type packed struct {
	ids, positions, types []int
	lengths               []int
	starts                []int  // first row of each sequence
	drop                  *masks // dropout generators; nil without dropout
}

// pack checks b against the config and lays it out as rows.
func (m *Model) pack(b Batch) (packed, error) {
	cfg := m.config
	if len(b.IDs) == 0 {
		return packed{}, fmt.Errorf("%w: empty batch", ErrInvalidInput)
	}
	if b.TypeIDs != nil && len(b.TypeIDs) != len(b.IDs) {
		return packed{}, fmt.Errorf("%w: %d sequences but %d token type sequences", ErrInvalidInput, len(b.IDs), len(b.TypeIDs))
	}
	var p packed
	for s, ids := range b.IDs {
		if len(ids) == 0 {
			return packed{}, fmt.Errorf("%w: sequence %d is empty", ErrInvalidInput, s)
		}
		positions := m.positions(ids)
		if last := positions[len(positions)-1]; m.arch.Positions != checkpoint.PositionsNone && last >= cfg.MaxPositionEmbeddings {
			return packed{}, fmt.Errorf("%w: sequence %d has %d tokens, more than the model's %d positions (max_position_embeddings); truncate it",
				ErrInvalidInput, s, len(ids), len(ids)-(last-cfg.MaxPositionEmbeddings+1))
		}
		var types []int
		if b.TypeIDs != nil && m.arch.TokenTypes {
			types = b.TypeIDs[s]
		}
		if types != nil && len(types) != len(ids) {
			return packed{}, fmt.Errorf("%w: sequence %d has %d tokens but %d token type ids", ErrInvalidInput, s, len(ids), len(types))
		}
		p.starts = append(p.starts, len(p.ids))
		p.lengths = append(p.lengths, len(ids))
		for i, id := range ids {
			if id < 0 || id >= cfg.VocabSize {
				return packed{}, fmt.Errorf("%w: sequence %d token %d: id %d outside the vocabulary [0, %d)", ErrInvalidInput, s, i, id, cfg.VocabSize)
			}
			t := 0
			if types != nil {
				t = types[i]
			}
			if m.arch.TokenTypes && (t < 0 || t >= cfg.TypeVocabSize) {
				return packed{}, fmt.Errorf("%w: sequence %d token %d: token type %d outside [0, %d)", ErrInvalidInput, s, i, t, cfg.TypeVocabSize)
			}
			p.ids = append(p.ids, id)
			p.positions = append(p.positions, positions[i])
			p.types = append(p.types, t)
		}
	}
	var err error
	p.drop, err = m.dropoutMasks(b, p.lengths)
	return p, err
}
