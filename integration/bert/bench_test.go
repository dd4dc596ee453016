package bert

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// shape is the size of a BERT encoder.
type shape struct {
	name                       string
	hidden, layers, heads, ffn int
}

var benchShapes = []shape{
	{"bert-tiny", 128, 2, 2, 512},
	{"minilm", 384, 6, 12, 1536},
}

// randomCheckpoint returns a BERT checkpoint of the given shape, with the bert-base-uncased
// vocabulary size, two labels and weights drawn from N(0, 0.02²).
func randomCheckpoint(s shape, seed uint64) *checkpoint.Checkpoint {
	rng := rand.New(rand.NewPCG(seed, 0))
	cfg := checkpoint.Config{
		VocabSize: 30522, HiddenSize: s.hidden, NumHiddenLayers: s.layers, NumAttentionHeads: s.heads,
		IntermediateSize: s.ffn, HiddenAct: checkpoint.ActivationGELU, MaxPositionEmbeddings: 512,
		TypeVocabSize: 2, LayerNormEps: 1e-12, ModelType: "bert",
	}
	tensors := map[string]*checkpoint.Tensor{}
	add := func(name string, fill float32, shape ...int) {
		t := &checkpoint.Tensor{Shape: shape, Data: make([]float32, shape[0]*shapeCols(shape))}
		for i := range t.Data {
			if fill == 0 {
				t.Data[i] = float32(rng.NormFloat64() * initializerRange)
			} else {
				t.Data[i] = fill
			}
		}
		tensors[name] = t
	}
	h := s.hidden
	linear := func(name string, out, in int) {
		add(name+".weight", 0, out, in)
		add(name+".bias", 0, out)
	}
	norm := func(name string) {
		add(name+".weight", 1, h)
		add(name+".bias", 0, h)
	}
	add("embeddings.word_embeddings.weight", 0, cfg.VocabSize, h)
	add("embeddings.position_embeddings.weight", 0, cfg.MaxPositionEmbeddings, h)
	add("embeddings.token_type_embeddings.weight", 0, cfg.TypeVocabSize, h)
	norm("embeddings.LayerNorm")
	for i := range s.layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			linear(p+m, h, h)
		}
		norm(p + "attention.output.LayerNorm")
		linear(p+"intermediate.dense", s.ffn, h)
		linear(p+"output.dense", h, s.ffn)
		norm(p + "output.LayerNorm")
	}
	linear("pooler.dense", h, h)
	return &checkpoint.Checkpoint{Config: cfg, Tensors: tensors}
}

func shapeCols(shape []int) int {
	if len(shape) == 2 {
		return shape[1]
	}
	return 1
}

// randomBatch returns n sequences of length tokens with random ids and labels.
func randomBatch(n, length, vocab int, seed uint64) (Batch, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b Batch
	labels := make([]int, n)
	for s := range n {
		ids := make([]int, length)
		for i := range ids {
			ids[i] = rng.IntN(vocab)
		}
		b.IDs = append(b.IDs, ids)
		labels[s] = rng.IntN(2)
	}
	return b, labels
}

// crossEntropy returns the mean cross-entropy of the rows of logits.
func crossEntropy(logits mat.Tensor, labels []int) mat.Tensor {
	_, classes := op.Dims(logits)
	var rows []mat.Tensor
	for i := range labels {
		rows = append(rows, ag.Reshape(ag.RowView(logits, i), classes, 1))
	}
	return losses.CrossEntropySeq(rows, labels, true)
}

var benchMethods = []struct {
	name string
	opts Options
}{
	{"head", Options{Targets: peft.DefaultBertTargets}},
	{"hra8", Options{Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets}},
	{"lora8", Options{Adapter: lora.Config{R: 8, Alpha: 16}, Targets: peft.DefaultBertTargets}},
	{"oft32", Options{Adapter: oft.Config{BlockSize: 32}, Targets: peft.DefaultBertTargets}},
	{"full", Options{FullFineTune: true}},
}

// BenchmarkTrainStep measures the forward and backward pass of the classification loss for a
// batch of 8 sequences of 32 tokens, per model shape and method; "head" (frozen encoder, trained
// head) and "full" (every weight trained) are the baselines.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range benchShapes {
		ck := randomCheckpoint(s, 1)
		batch, labels := randomBatch(8, 32, ck.Config.VocabSize, 2)
		for _, method := range benchMethods {
			b.Run(s.name+"/"+method.name, func(b *testing.B) {
				m, err := New(ck, method.opts)
				if err != nil {
					b.Fatal(err)
				}
				m.SetTraining(true)
				params := m.TrainableParams()
				for b.Loop() {
					logits, err := m.Logits(batch)
					if err != nil {
						b.Fatal(err)
					}
					if err := ag.Backward(crossEntropy(logits, labels)); err != nil {
						b.Fatal(err)
					}
					for _, p := range params {
						p.ZeroGrad()
					}
				}
			})
		}
	}
}
