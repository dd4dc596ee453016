package checkpoint

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/cybertron/pkg/vocabulary"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/embedding"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/nlpodyssey/spago/nn/normalization/layernorm"
	"github.com/spago-peft/spago-peft/internal/atomicdir"
)

// WriteSpago writes dir/spago_model.bin, the file cybertron's BERT loaders read (its
// textclassification.LoadTextClassification, or nn.LoadFromFile of a
// *bert.ModelForSequenceClassification): ck as cybertron's BertForSequenceClassification, in
// float32, with the vocabulary of dir/vocab.txt, which must be there (WriteDir copies it in), as
// must config.json and, for LoadTextClassification, tokenizer_config.json. ck must have a
// pooler and a classifier and pass Validate, and its vocabulary must have VocabSize entries.
//
// It is what cybertron's converter makes from a pytorch_model.bin, with two differences that make
// cybertron compute ck's model more closely: every row of the word embeddings is set (the
// converter leaves the last one zero), and every LayerNorm has the config's epsilon (the
// converter keeps cybertron's 1e-5). What remains different is cybertron's own: its "gelu" is
// spago's tanh approximation, not BERT's exact GELU. The file is written atomically beside
// dir's other files. LoadDir reads it back.
func WriteSpago(dir string, ck *Checkpoint) error {
	if ck == nil {
		return fmt.Errorf("%w: nil checkpoint", ErrNotFound)
	}
	if err := ck.Validate(); err != nil {
		return err
	}
	if a := ck.Config.Architecture(); a.ModelType != modelTypeBERT {
		return fmt.Errorf("%w: cybertron runs BERT only, and the checkpoint is %s", ErrUnsupported, a.ModelType)
	}
	if !ck.HasClassifier() || !ck.HasPooler() {
		return fmt.Errorf("%w: cybertron's BertForSequenceClassification needs a pooler and a classifier, and the checkpoint lacks one", ErrUnsupported)
	}
	vocabPath := filepath.Join(dir, VocabFile)
	vocab, err := vocabulary.NewFromFile(vocabPath)
	if err != nil {
		return fileError(vocabPath, err)
	}
	if n := len(vocab.Items()); n != ck.Config.VocabSize { // Items, not Size, which cybertron counts one short
		return fmt.Errorf("%w: %s has %d entries, the checkpoint's vocab_size is %d", ErrCorrupt, vocabPath, n, ck.Config.VocabSize)
	}
	model := cybertronModel(ck, vocab)
	return atomicdir.Write(dir, []atomicdir.File{{Name: SpagoFile, Write: func(w io.Writer) error { return nn.Dump(model, w) }}})
}

// cybertronModel builds cybertron's BertForSequenceClassification with ck's weights: the
// inverse of loadSpago.
func cybertronModel(ck *Checkpoint, vocab *vocabulary.Vocabulary) *bert.ModelForSequenceClassification {
	c := ck.Config
	cfg := bert.Config{
		Architectures:         []string{"BertForSequenceClassification"},
		HiddenAct:             c.HiddenAct,
		HiddenSize:            c.HiddenSize,
		EmbeddingsSize:        c.HiddenSize,
		IntermediateSize:      c.IntermediateSize,
		LayerNormEps:          c.LayerNormEps,
		MaxPositionEmbeddings: c.MaxPositionEmbeddings,
		ModelType:             modelTypeBERT,
		NumAttentionHeads:     c.NumAttentionHeads,
		NumHiddenLayers:       c.NumHiddenLayers,
		PadTokenId:            c.PadTokenID,
		TypeVocabSize:         c.TypeVocabSize,
		VocabSize:             c.VocabSize,
		ID2Label:              map[string]string{},
	}
	numLabels := ck.Tensors["classifier.weight"].Shape[0]
	for i := range numLabels {
		label, ok := c.ID2Label[i]
		if !ok {
			label = fmt.Sprintf("LABEL_%d", i)
		}
		cfg.ID2Label[strconv.Itoa(i)] = label
	}
	cfg.Cybertron.Training = true // as cybertron's converter sets it
	base := bert.New[float32](cfg)
	base.Embeddings.Vocab = vocab
	w := spagoWriter{ck: ck, eps: c.LayerNormEps}
	w.embedding(base.Embeddings.Tokens, "embeddings.word_embeddings.weight")
	w.embedding(base.Embeddings.Positions, "embeddings.position_embeddings.weight")
	w.embedding(base.Embeddings.TokenTypes, "embeddings.token_type_embeddings.weight")
	w.layerNorm(base.Embeddings.Norm, "embeddings.LayerNorm")
	for i, layer := range base.Encoder.Layers {
		prefix := fmt.Sprintf("encoder.layer.%d.", i)
		heads := layer.SelfAttention.Attention.Heads
		headSize := c.HeadSize()
		for h, head := range heads {
			w.headRows(head.Query, prefix+"attention.self.query", h, headSize)
			w.headRows(head.Key, prefix+"attention.self.key", h, headSize)
			w.headRows(head.Value, prefix+"attention.self.value", h, headSize)
		}
		w.linear(layer.SelfAttention.Attention.OutputMerge, prefix+"attention.output.dense")
		w.layerNorm(layer.SelfAttention.Norm, prefix+"attention.output.LayerNorm")
		w.linear(layer.FF.MLP[0].(*linear.Model), prefix+"intermediate.dense")
		w.linear(layer.FF.MLP[2].(*linear.Model), prefix+"output.dense")
		w.layerNorm(layer.FF.Norm, prefix+"output.LayerNorm")
	}
	w.linear(base.Pooler.Model[0].(*linear.Model), "pooler.dense")
	m := bert.NewModelForSequenceClassification[float32](base)
	m.Classifier = linear.New[float32](c.HiddenSize, numLabels)
	w.linear(m.Classifier, "classifier")
	return m
}

// spagoWriter copies canonical tensors into cybertron's parameters.
type spagoWriter struct {
	ck  *Checkpoint
	eps float64
}

func (w spagoWriter) set(p *nn.Param, data []float32) {
	p.ReplaceValue(mat.NewDense[float32](mat.WithShape(p.Shape()...), mat.WithBacking(append([]float32(nil), data...))))
}

func (w spagoWriter) linear(m *linear.Model, name string) {
	w.set(m.W, w.ck.Tensors[name+".weight"].Data)
	w.set(m.B, w.ck.Tensors[name+".bias"].Data)
}

// headRows sets head h's projection to rows h·size to (h+1)·size of the full one, as cybertron's
// converter splits them.
func (w spagoWriter) headRows(m *linear.Model, name string, h, size int) {
	weight, bias := w.ck.Tensors[name+".weight"], w.ck.Tensors[name+".bias"]
	in := weight.Shape[1]
	w.set(m.W, weight.Data[h*size*in:(h+1)*size*in])
	w.set(m.B, bias.Data[h*size:(h+1)*size])
}

func (w spagoWriter) layerNorm(m *layernorm.Model, name string) {
	w.set(m.W, w.ck.Tensors[name+".weight"].Data)
	w.set(m.B, w.ck.Tensors[name+".bias"].Data)
	m.Eps = nn.Buf(mat.Scalar(float32(w.eps)))
}

func (w spagoWriter) embedding(m *embedding.Model, name string) {
	t := w.ck.Tensors[name]
	for i, p := range m.Weights {
		w.set(p, t.Data[i*m.Dim:(i+1)*m.Dim])
	}
}
