package checkpoint

import (
	"fmt"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/embedding"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/nlpodyssey/spago/nn/normalization/layernorm"
)

// loadSpago reads a spago_model.bin written by cybertron's BERT converter
// (a gob of the cybertron model type chosen by the first architecture, as in
// cybertron's converter) and maps its parameters back to canonical Hugging
// Face tensors; the per-head query/key/value projections are stacked back
// into the full [hidden, hidden] matrices.
func loadSpago(path string, architectures []string) (tensors map[string]*Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			tensors, err = nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, r)
		}
	}()
	arch := "BertBase" // cybertron's choice when config.json names none
	if len(architectures) > 0 {
		arch = architectures[0]
	}
	var (
		base *bert.Model
		head *linear.Model
		out  = newSpagoTensors()
	)
	switch arch {
	case "BertBase":
		base, err = loadGob[*bert.Model](path)
	case "BertModel":
		var m *bert.ModelForSequenceEncoding
		if m, err = loadGob[*bert.ModelForSequenceEncoding](path); err == nil {
			base = m.Bert
		}
	case "BertForMaskedLM":
		var m *bert.ModelForMaskedLM
		if m, err = loadGob[*bert.ModelForMaskedLM](path); err == nil {
			base = m.Bert
		}
	case "BertForSequenceClassification":
		var m *bert.ModelForSequenceClassification
		if m, err = loadGob[*bert.ModelForSequenceClassification](path); err == nil {
			base, head = m.Bert, m.Classifier
		}
	case "BertForTokenClassification":
		var m *bert.ModelForTokenClassification
		if m, err = loadGob[*bert.ModelForTokenClassification](path); err == nil {
			base, head = m.Bert, m.Classifier
		}
	case "BertForQuestionAnswering":
		var m *bert.ModelForQuestionAnswering
		if m, err = loadGob[*bert.ModelForQuestionAnswering](path); err == nil && m.Classifier != nil {
			base = m.Bert
			out.linear("qa_outputs", m.Classifier)
		}
	default:
		return nil, fmt.Errorf("%w: %s: cybertron has no BERT model for architecture %q", ErrUnsupported, path, arch)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: decoding cybertron %s: %v", ErrCorrupt, path, arch, err)
	}
	if base == nil || base.Embeddings == nil || base.Encoder == nil {
		return nil, fmt.Errorf("%w: %s: cybertron model has no BERT encoder", ErrCorrupt, path)
	}
	if head != nil {
		out.linear("classifier", head)
	}
	out.base(base)
	return out.tensors, nil
}

// loadGob decodes a gob file into a new *M; a missing top-level value is an
// error rather than a nil model.
func loadGob[P interface{ *M }, M any](path string) (P, error) {
	m, err := nn.LoadFromFile[P](path)
	if err == nil && m == nil {
		err = fmt.Errorf("empty gob")
	}
	return m, err
}

// spagoTensors accumulates canonical tensors copied from spago parameters.
type spagoTensors struct{ tensors map[string]*Tensor }

func newSpagoTensors() *spagoTensors { return &spagoTensors{tensors: map[string]*Tensor{}} }

// matrix copies a [rows, cols] parameter.
func (s *spagoTensors) matrix(name string, p *nn.Param) {
	v := p.Value()
	s.tensors[name] = &Tensor{Shape: append([]int(nil), v.Shape()...), Data: values(v)}
}

// vector copies a parameter that spago stores as an [n, 1] column and
// Hugging Face as a 1-D [n] tensor.
func (s *spagoTensors) vector(name string, p *nn.Param) {
	v := p.Value()
	s.tensors[name] = &Tensor{Shape: []int{v.Size()}, Data: values(v)}
}

func (s *spagoTensors) linear(prefix string, m *linear.Model) {
	s.matrix(prefix+".weight", m.W)
	s.vector(prefix+".bias", m.B)
}

func (s *spagoTensors) layerNorm(prefix string, m *layernorm.Model) {
	s.vector(prefix+".weight", m.W)
	s.vector(prefix+".bias", m.B)
}

// embedding stacks the rows of a cybertron embedding table.
func (s *spagoTensors) embedding(name string, m *embedding.Model) {
	t := &Tensor{Shape: []int{m.Size, m.Dim}, Data: make([]float32, 0, m.Size*m.Dim)}
	for _, row := range m.Weights {
		t.Data = append(t.Data, values(row.Value())...)
	}
	s.tensors[name] = t
}

// stackRows concatenates the rows of the per-head [headSize, in] matrices
// (or [headSize, 1] biases) into one [heads·headSize, in] matrix (or 1-D
// bias): the inverse of cybertron's converter, which gives head j rows
// j·headSize to (j+1)·headSize of the Hugging Face weight and bias.
func (s *spagoTensors) stackRows(name string, params []*nn.Param, bias bool) {
	t := &Tensor{}
	for _, p := range params {
		t.Data = append(t.Data, values(p.Value())...)
	}
	if bias {
		t.Shape = []int{len(t.Data)}
	} else {
		shape := params[0].Value().Shape()
		t.Shape = []int{shape[0] * len(params), shape[1]}
	}
	s.tensors[name] = t
}

func (s *spagoTensors) base(m *bert.Model) {
	s.embedding("embeddings.word_embeddings.weight", m.Embeddings.Tokens)
	s.embedding("embeddings.position_embeddings.weight", m.Embeddings.Positions)
	s.embedding("embeddings.token_type_embeddings.weight", m.Embeddings.TokenTypes)
	s.layerNorm("embeddings.LayerNorm", m.Embeddings.Norm)
	for i, layer := range m.Encoder.Layers {
		prefix := fmt.Sprintf("encoder.layer.%d.", i)
		heads := layer.SelfAttention.Attention.Heads
		for _, proj := range []struct {
			name string
			get  func(h int) *linear.Model
		}{
			{"query", func(h int) *linear.Model { return heads[h].Query }},
			{"key", func(h int) *linear.Model { return heads[h].Key }},
			{"value", func(h int) *linear.Model { return heads[h].Value }},
		} {
			weights := make([]*nn.Param, len(heads))
			biases := make([]*nn.Param, len(heads))
			for h := range heads {
				weights[h], biases[h] = proj.get(h).W, proj.get(h).B
			}
			s.stackRows(prefix+"attention.self."+proj.name+".weight", weights, false)
			s.stackRows(prefix+"attention.self."+proj.name+".bias", biases, true)
		}
		s.linear(prefix+"attention.output.dense", layer.SelfAttention.Attention.OutputMerge)
		s.layerNorm(prefix+"attention.output.LayerNorm", layer.SelfAttention.Norm)
		s.linear(prefix+"intermediate.dense", layer.FF.MLP[0].(*linear.Model))
		s.linear(prefix+"output.dense", layer.FF.MLP[2].(*linear.Model))
		s.layerNorm(prefix+"output.LayerNorm", layer.FF.Norm)
	}
	if m.Pooler != nil && len(m.Pooler.Model) > 0 {
		s.linear("pooler.dense", m.Pooler.Model[0].(*linear.Model))
	}
}

// values copies a spago tensor's data as float32 (models converted with
// float64 parameters are narrowed).
func values(t mat.Tensor) []float32 {
	return append([]float32(nil), t.Data().F32()...)
}
