package bert

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
)

// This file holds what differs between the members of the BERT family (checkpoint.Architectures):
// the embedding variants, the head's activation and, as a slot for the next member, the attention
// variant. Module names come from the architecture's entry.

// addEmbeddings adds the architecture's embedding tables, their LayerNorm and, when the embeddings
// are narrower than the hidden states (ELECTRA), the projection to the hidden size.
func addEmbeddings[T float.DType](m *Model, w weights[T]) {
	e := &m.Embeddings
	e.Word = w.param("embeddings.word_embeddings.weight")
	m.addModule("embeddings.word_embeddings", nil, e.Word)
	if m.arch.Positions != checkpoint.PositionsNone {
		e.Position = w.param("embeddings.position_embeddings.weight")
		m.addModule("embeddings.position_embeddings", nil, e.Position)
	}
	if m.arch.TokenTypes {
		e.TokenType = w.param("embeddings.token_type_embeddings.weight")
		m.addModule("embeddings.token_type_embeddings", nil, e.TokenType)
	}
	e.Norm = w.layerNorm("embeddings.LayerNorm")
	m.addNorm("embeddings.LayerNorm", e.Norm)
	if m.config.EmbeddingWidth() != m.config.HiddenSize {
		e.Project = w.linear(checkpoint.EmbeddingsProject)
		m.addLinear(checkpoint.EmbeddingsProject, e.Project)
	}
}

// addLayer adds encoder layer i, its modules named as the architecture names them.
func addLayer[T float.DType](m *Model, w weights[T], i int) {
	n := m.arch.Layers
	name := func(s string) string { return m.arch.LayerModule(i, s) }
	l := &Layer{
		Query:           w.linear(name(n.Query)),
		Key:             w.linear(name(n.Key)),
		Value:           w.linear(name(n.Value)),
		AttentionOutput: w.linear(name(n.AttentionOutput)),
		AttentionNorm:   w.layerNorm(name(n.AttentionNorm)),
		Intermediate:    w.linear(name(n.Intermediate)),
		Output:          w.linear(name(n.Output)),
		OutputNorm:      w.layerNorm(name(n.OutputNorm)),
		names: layerNames{
			query: name(n.Query), key: name(n.Key), value: name(n.Value),
			attentionOutput: name(n.AttentionOutput), intermediate: name(n.Intermediate), output: name(n.Output),
		},
	}
	m.Layers = append(m.Layers, l)
	m.addLinear(l.names.query, l.Query)
	m.addLinear(l.names.key, l.Key)
	m.addLinear(l.names.value, l.Value)
	m.addLinear(l.names.attentionOutput, l.AttentionOutput)
	m.addNorm(name(n.AttentionNorm), l.AttentionNorm)
	m.addLinear(l.names.intermediate, l.Intermediate)
	m.addLinear(l.names.output, l.Output)
	m.addNorm(name(n.OutputNorm), l.OutputNorm)
}

// embed returns the embeddings of the packed tokens: word, position (if the architecture has
// absolute positions) and token type (if it has token types) summed, normalised, dropped out in
// training, and projected to the hidden size where the architecture has a projection.
func (m *Model) embed(p packed) mat.Tensor {
	e := m.Embeddings
	x := op.Gather(e.Word, p.ids)
	dead := []mat.Tensor{x} // the rows and sums on the way, recycled as a layer's
	if e.Position != nil {
		pos := op.Gather(e.Position, p.positions)
		x = ag.Add(x, pos)
		dead = append(dead, pos, x)
	}
	if e.TokenType != nil {
		types := op.Gather(e.TokenType, p.types)
		x = ag.Add(x, types)
		dead = append(dead, types, x)
	}
	var y mat.Tensor
	switch {
	case m.deberta != nil:
		y = m.debertaEmbeddings(x, p)
	case e.Project != nil:
		normed := m.dropoutIfTraining(m.norm(x, e.Norm), p.drop.tokens)
		y = m.project(checkpoint.EmbeddingsProject, e.Project, normed, p.drop.tokens)
		dead = append(dead, normed)
	default:
		y = m.dropoutIfTraining(m.norm(x, e.Norm), p.drop.tokens)
	}
	m.recycleCounted(&recycledEmbeddingNodes, y, dead...)
	return y
}

// headActivation applies the activation between the head's dense and output layers.
func (m *Model) headActivation(x mat.Tensor) mat.Tensor {
	switch m.arch.Head.Activation {
	case checkpoint.HeadGELU:
		return op.GELU(x)
	case checkpoint.HeadReLU:
		return op.ReLU(x)
	default:
		return op.Tanh(x)
	}
}

// positions returns the position ids of one sequence as the architecture numbers them.
func (m *Model) positions(ids []int) []int {
	pos := make([]int, len(ids))
	switch m.arch.Positions {
	case checkpoint.PositionsPaddingOffset:
		// RoBERTa's create_position_ids_from_input_ids: padding_idx + the running count of
		// non-padding tokens, padding_idx itself for padding tokens.
		pad, n := m.config.PadTokenID, 0
		for i, id := range ids {
			pos[i] = pad
			if id != pad {
				n++
				pos[i] = pad + n
			}
		}
	default:
		for i := range ids {
			pos[i] = i
		}
	}
	return pos
}

// DefaultTargets returns the targets PEFT's default gives a sequence classifier of cfg's
// architecture, with its whole head trained in full: peft.DefaultBertTargets for BERT (query and
// value; pooler and classifier saved), and for the others PEFT's default target modules
// (peft.DefaultTargetModules) with the classifier saved, which holds RoBERTa's and ELECTRA's
// dense layer and, by PEFT's suffix rule, DistilBERT's pre_classifier.
func DefaultTargets(cfg checkpoint.Config) peft.Targets {
	a := cfg.Architecture()
	if a.ModelType == "bert" {
		return peft.DefaultBertTargets
	}
	return peft.Targets{Modules: peft.DefaultTargetModules(a.ModelType), ModulesToSave: []string{"classifier"}}
}
