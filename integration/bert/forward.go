package bert

import (
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/op"
)

// Encode returns the last hidden state of each sequence (length×hidden) and the pooled output
// (one row per sequence: the head's activation of its dense layer on the first token, BERT's
// pooler output), as nodes of spago's autograd graph.
func (m *Model) Encode(b Batch) (hidden []mat.Tensor, pooled mat.Tensor, err error) {
	p, err := m.pack(b)
	if err != nil {
		return nil, nil, err
	}
	x := m.inParts(p, m.encode)
	hidden = make([]mat.Tensor, len(p.lengths))
	for s, start := range p.starts {
		rows := make([]int, p.lengths[s])
		for i := range rows {
			rows[i] = start + i
		}
		hidden[s] = op.Gather(x, rows)
	}
	return hidden, m.pool(x, p), nil
}

// Logits returns the batch×labels classification logits, as a node of spago's autograd graph.
func (m *Model) Logits(b Batch) (mat.Tensor, error) {
	p, err := m.pack(b)
	if err != nil {
		return nil, err
	}
	pooled := m.dropoutIfTraining(m.inParts(p, func(p packed) mat.Tensor { return m.poolFirst(m.encodeFirst(p), p) }), p.drop.sequences)
	return op.Linear(pooled, m.Classifier.W, m.Classifier.B), nil
}

// encode returns the last hidden states of all tokens, row-stacked.
func (m *Model) encode(p packed) mat.Tensor {
	if parts := m.rowParts(p); parts > 1 {
		return m.encodeRows(p, parts, false)
	}
	x := m.embed(p)
	for _, l := range m.Layers {
		x = m.layer(l, x, p)
	}
	return x
}

// layer runs one encoder layer: self-attention and feed-forward, each followed by dropout, the
// residual connection and LayerNorm (post-LN, as every member of the family). The attention is
// BERT's scaled dot product (checkpoint.AttentionScaledDot); another variant is chosen here by
// m.arch.Attention. Nothing may read x after it: in evaluation its value may be recycled.
func (m *Model) layer(l *Layer, x mat.Tensor, p packed) mat.Tensor {
	// spago runs each consumer's backward in its own goroutine, and a node's gradients are summed
	// in the order they arrive: exact for two addends, order-dependent for three or more. Copies
	// keep every node at two consumers, so training is bit-reproducible (inference needs none).
	xqk, xv := op.CopyForGrad(x), op.CopyForGrad(x)
	q := m.project(l.names.query, l.Query, xqk, p.drop.tokens)
	k := m.project(l.names.key, l.Key, xqk, p.drop.tokens)
	v := m.project(l.names.value, l.Value, xv, p.drop.tokens)
	ctx := m.selfAttention(l, q, k, v, p)
	y, dead := m.layerTail(l, ctx, xv, p.drop)
	m.recycle(y, append(dead, x, xqk, xv, q, k, v, ctx)...)
	return y
}

// layerTail is the rest of layer l once the attention has given ctx for the rows x of the
// layer's input: the attention's output projection, dropout, the residual connection and
// LayerNorm, then the feed-forward block; d draws the dropout masks (nil: none). It returns the
// layer's output y and the nodes it made on the way, which only y's computation read.
func (m *Model) layerTail(l *Layer, ctx, x mat.Tensor, d *masks) (y mat.Tensor, dead []mat.Tensor) {
	a := m.project(l.names.attentionOutput, l.AttentionOutput, ctx, d.tokens)
	x1 := m.residualNorm(a, x, l.AttentionNorm, d)
	h := m.expand(l.names.intermediate, l.Intermediate, x1, d.tokens)
	o := m.project(l.names.output, l.Output, h, d.tokens)
	return m.residualNorm(o, x1, l.OutputNorm, d), []mat.Tensor{a, x1, h, o}
}

// project applies the linear layer named name, through its adapter if it has one. An adapter that
// drops its own input in training (LoRA's lora_dropout) draws its mask from masks, the generator
// of the site's values keyed as the model's dropouts are, so that training repeats bit for bit.
func (m *Model) project(name string, base *linear.Model, x mat.Tensor, masks func(width int) *sequenceSource) mat.Tensor {
	if a, ok := m.adapters[name]; ok {
		if m.training {
			if d, drops := droppingInput(a); drops {
				_, in := op.Dims(x)
				return d.ForwardRowsMasked(x, masks(in))
			}
		}
		return a.ForwardRows(x)
	}
	return op.Linear(x, base.W, base.B)
}

// expand applies intermediate.dense and the activation. With BERT's exact GELU and no adapter to
// run (none, or one merged into the weights) it is one fused operator.
func (m *Model) expand(name string, base *linear.Model, x mat.Tensor, masks func(width int) *sequenceSource) mat.Tensor {
	a, adapted := m.adapters[name]
	if m.config.HiddenAct == checkpoint.ActivationGELU && (!adapted || a.Merged()) {
		return op.LinearGELU(x, base.W, base.B)
	}
	return m.activate(m.project(name, base, x, masks))
}

// pool returns activation(Pooler(first token)) for each sequence, with dropout first in training
// where the architecture's head has it (RoBERTa's); the Pooler may have an adapter.
func (m *Model) pool(x mat.Tensor, p packed) mat.Tensor {
	return m.poolFirst(op.Gather(x, p.starts), p)
}

// poolFirst is pool given the first token's row of each sequence.
func (m *Model) poolFirst(first mat.Tensor, p packed) mat.Tensor {
	if m.arch.Head.DropoutFirst {
		first = m.dropoutIfTraining(first, p.drop.sequences)
	}
	return m.headActivation(m.project(m.arch.Head.Dense, m.Pooler, first, p.drop.sequences))
}

func (m *Model) norm(x mat.Tensor, n LayerNorm) mat.Tensor {
	return op.LayerNorm(x, n.Weight, n.Bias, m.config.LayerNormEps)
}

// residualNorm returns dropout(a) + x normalised by n, as one operator; dropout applies in
// training mode only, with masks from d.
func (m *Model) residualNorm(a, x mat.Tensor, n LayerNorm, d *masks) mat.Tensor {
	if !m.training || m.dropout == 0 {
		return op.AddLayerNorm(a, x, n.Weight, n.Bias, m.config.LayerNormEps, 0, nil)
	}
	return op.AddLayerNorm(a, x, n.Weight, n.Bias, m.config.LayerNormEps, m.dropout, d.tokens(m.config.HiddenSize))
}

// attention is multi-head self-attention, with dropout of its probabilities in training mode.
func (m *Model) attention(q, k, v mat.Tensor, p packed) mat.Tensor {
	heads := m.config.NumAttentionHeads
	if !m.training || m.attnDrop == 0 {
		return op.Attention(q, k, v, heads, p.lengths)
	}
	return op.AttentionDropout(q, k, v, heads, p.lengths, m.attnDrop, p.drop.attention(heads))
}

// activate applies the config's hidden_act (checkpoint.Config.Validate admits no other).
func (m *Model) activate(x mat.Tensor) mat.Tensor {
	switch m.config.HiddenAct {
	case checkpoint.ActivationGELUNew, checkpoint.ActivationGELUTanh:
		return op.GELUTanh(x)
	case checkpoint.ActivationReLU:
		return op.ReLU(x)
	default:
		return op.GELU(x)
	}
}

// dropoutIfTraining applies the hidden dropout in training mode, with the generator that
// generator returns for rows of the hidden size (masks.tokens or masks.sequences).
func (m *Model) dropoutIfTraining(x mat.Tensor, generator func(width int) *sequenceSource) mat.Tensor {
	if !m.training || m.dropout == 0 {
		return x
	}
	_, width := op.Dims(x) // not always the hidden size: ELECTRA's embeddings may be narrower
	return op.Dropout(x, m.dropout, generator(width))
}
