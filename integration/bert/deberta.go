package bert

import (
	"fmt"
	"slices"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/op"
)

// This file holds what DeBERTa-v2 and v3 (checkpoint.AttentionDisentangled) add to the family's
// encoder: their embeddings (an optional projection without bias before the LayerNorm), the
// relative-position embeddings and the disentangled attention, and the pooler's configured
// activation (through the architecture's Head.Activation). Module names are those of
// transformers' DebertaV2ForSequenceClassification.

// relative holds the modules of DeBERTa-v2's disentangled attention that BERT lacks.
type relative struct {
	// Embeddings is encoder.rel_embeddings: 2·span relative positions × hidden size.
	Embeddings *nn.Param
	// Norm is encoder.LayerNorm, applied to Embeddings when norm_rel_ebd says layer_norm (Weight
	// nil otherwise).
	Norm LayerNorm
	// PosKey and PosQuery are, per layer, attention.self.pos_key_proj and pos_query_proj: the
	// projections of Embeddings when share_att_key is off (nil when shared or the term is off).
	PosKey, PosQuery []*linear.Model
}

// deberta is a DeBERTa model's configuration and its extra modules.
type deberta struct {
	cfg checkpoint.DebertaConfig
	rel relative
}

// addDeberta reads the DeBERTa keys of the config and adds the embeddings and the relative
// modules in checkpoint order; it runs in place of addEmbeddings, before the layers, which
// addDebertaLayer then completes.
func addDeberta[T float.DType](m *Model, w weights[T]) error {
	cfg, err := m.config.Deberta()
	if err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	m.deberta = &deberta{cfg: cfg}
	e := &m.Embeddings
	e.Word = w.param("embeddings.word_embeddings.weight")
	m.addModule("embeddings.word_embeddings", nil, e.Word)
	if cfg.PositionBiasedInput {
		e.Position = w.param("embeddings.position_embeddings.weight")
		m.addModule("embeddings.position_embeddings", nil, e.Position)
	}
	if m.config.TypeVocabSize > 0 {
		e.TokenType = w.param("embeddings.token_type_embeddings.weight")
		m.addModule("embeddings.token_type_embeddings", nil, e.TokenType)
	}
	if width := m.config.EmbeddingWidth(); width != m.config.HiddenSize {
		// embed_proj has no bias: a zero one, frozen and outside the module's parameters (so never
		// saved or exported), lets it run and take an adapter as every linear layer does (PEFT's
		// all-linear adapts it).
		e.Project = &linear.Model{W: w.param(checkpoint.DebertaEmbedProj + ".weight"), B: newParam(m.config.HiddenSize, 1, make([]T, m.config.HiddenSize))}
		m.addModule(checkpoint.DebertaEmbedProj, e.Project, e.Project.W)
	}
	e.Norm = w.layerNorm("embeddings.LayerNorm")
	m.addNorm("embeddings.LayerNorm", e.Norm)
	if !cfg.RelativeAttention {
		return nil
	}
	r := &m.deberta.rel
	r.Embeddings = w.param(checkpoint.DebertaRelEmbeddings + ".weight")
	m.addModule(checkpoint.DebertaRelEmbeddings, nil, r.Embeddings)
	if cfg.NormRelEmbeddings {
		r.Norm = w.layerNorm(checkpoint.DebertaRelNorm)
		m.addNorm(checkpoint.DebertaRelNorm, r.Norm)
	}
	return nil
}

// addDebertaLayer adds layer i's pos_key_proj and pos_query_proj when it has them.
func addDebertaLayer[T float.DType](m *Model, w weights[T], i int) {
	d := m.deberta
	if d == nil {
		return
	}
	r := &d.rel
	r.PosKey, r.PosQuery = append(r.PosKey, nil), append(r.PosQuery, nil)
	if !d.cfg.RelativeAttention || d.cfg.ShareAttKey {
		return
	}
	if d.cfg.C2P {
		name := m.arch.LayerModule(i, checkpoint.DebertaPosKey)
		r.PosKey[i] = w.linear(name)
		m.addLinear(name, r.PosKey[i])
	}
	if d.cfg.P2C {
		name := m.arch.LayerModule(i, checkpoint.DebertaPosQuery)
		r.PosQuery[i] = w.linear(name)
		m.addLinear(name, r.PosQuery[i])
	}
}

// debertaEmbeddings completes DebertaV2Embeddings from the sum x of the word, absolute position
// and token type embeddings (as the config has them): embed_proj to the hidden size when the
// embeddings are narrower, LayerNorm, and dropout in training.
func (m *Model) debertaEmbeddings(x mat.Tensor, p packed) mat.Tensor {
	e := m.Embeddings
	if e.Project != nil {
		x = m.project(checkpoint.DebertaEmbedProj, e.Project, x, p.drop.tokens)
	}
	return m.dropoutIfTraining(m.norm(x, e.Norm), p.drop.tokens)
}

// relativePositions returns the rows from, from+1, … (rows of them) of the encoder's
// relative-position embeddings, normalised when the config says so
// (DebertaV2Encoder.get_rel_embedding, row by row).
func (m *Model) relativePositions(from, rows int) mat.Tensor {
	r := m.deberta.rel
	ids := make([]int, rows)
	for i := range ids {
		ids[i] = from + i
	}
	x := op.Gather(r.Embeddings, ids)
	if r.Norm.Weight == nil {
		return x
	}
	return m.norm(x, r.Norm)
}

// selfAttention is the self-attention of layer l: BERT's, or DeBERTa's disentangled one.
func (m *Model) selfAttention(l *Layer, q, k, v mat.Tensor, p packed) mat.Tensor {
	if m.deberta == nil {
		return m.attention(q, k, v, p)
	}
	return m.disentangledAttention(l, slices.Index(m.Layers, l), q, k, v, p)
}

// disentangledAttention is DisentangledSelfAttention of layer i on the projections q, k, v. The
// relative embeddings the sequences read (op.Disentangled.PositionRows: at most 2·length − 1 of
// the 2·span), dropped out in training as by its pos_dropout, go through query_proj and key_proj
// (with their adapters, as in PEFT) when share_att_key is on, else through the layer's
// pos_query_proj and pos_key_proj.
func (m *Model) disentangledAttention(l *Layer, i int, q, k, v mat.Tensor, p packed) mat.Tensor {
	d := m.deberta
	c := op.Disentangled{Heads: m.config.NumAttentionHeads, Lengths: p.lengths, MaxRelative: 1, ScaleFactor: 1}
	for _, on := range []bool{d.cfg.C2P, d.cfg.P2C} { // counted even without relative attention
		if on {
			c.ScaleFactor++
		}
	}
	var pq, pk mat.Tensor
	if d.cfg.RelativeAttention {
		c.C2P, c.P2C = d.cfg.C2P, d.cfg.P2C
		c.Buckets, c.MaxRelative = d.cfg.PositionBuckets, d.cfg.MaxRelativePositions
	}
	if c.C2P || c.P2C {
		from, rows := c.PositionRows()
		c.PosFrom = from
		rel := m.dropoutIfTraining(m.relativePositions(from, rows), p.drop.shared)
		if c.P2C {
			if d.cfg.ShareAttKey {
				pq = m.project(l.names.query, l.Query, rel, p.drop.shared)
			} else {
				pq = m.project(m.arch.LayerModule(i, checkpoint.DebertaPosQuery), d.rel.PosQuery[i], rel, p.drop.shared)
			}
		}
		if c.C2P {
			if d.cfg.ShareAttKey {
				pk = m.project(l.names.key, l.Key, rel, p.drop.shared)
			} else {
				pk = m.project(m.arch.LayerModule(i, checkpoint.DebertaPosKey), d.rel.PosKey[i], rel, p.drop.shared)
			}
		}
	}
	if m.training && m.attnDrop > 0 {
		c.Dropout, c.RNG = m.attnDrop, p.drop.attention(c.Heads)
	}
	return op.DisentangledAttention(q, k, v, pq, pk, c)
}
