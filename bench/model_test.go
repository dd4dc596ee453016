package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// shape is the size of a BERT encoder; pytorch_compare.py has the same table.
type shape struct {
	name                       string
	hidden, layers, heads, ffn int
}

var shapes = []shape{
	{"tiny", 128, 2, 2, 512},         // bert-tiny, as ../shared/models/sst-bert-tiny
	{"minilm", 384, 6, 12, 1536},     // all-MiniLM-L6 / MiniLM-L6-H384
	{"bert-base", 768, 12, 12, 3072}, // bert-base-uncased, the size most users fine-tune
}

// seqLen is the number of tokens of every sequence, [CLS] and [SEP] included.
const seqLen = 32

// batchSizes are the sequences per training step or inference call: one, as PyTorch's
// per-example figure, and a mini-batch of 8, transformers' default.
var batchSizes = []int{1, 8}

// hiddenDropout is Hugging Face's hidden_dropout_prob, on in every training benchmark.
const hiddenDropout = 0.1

// method is a way of fine-tuning; its name is the one pytorch_compare.py prints.
type method struct {
	name string
	opts bert.Options
}

var methods = []method{
	{"head", bert.Options{Targets: peft.DefaultBertTargets}},
	// frozen trains the head and the embeddings' LayerNorm, so the backward pass runs through
	// every frozen layer: the baseline of the adapters' overhead.
	{"frozen", bert.Options{Targets: peft.Targets{ModulesToSave: []string{"classifier", "pooler", "embeddings.LayerNorm"}}}},
	{"hra8", bert.Options{Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets}},
	{"lora8", bert.Options{Adapter: lora.Config{R: 8, Alpha: 16}, Targets: peft.DefaultBertTargets}},
	{"oft32", bert.Options{Adapter: oft.Config{BlockSize: 32}, Targets: peft.DefaultBertTargets}},
	{"full", bert.Options{FullFineTune: true}},
}

// checkpoints caches one random checkpoint per shape: drawing MiniLM's 12M embedding values
// takes longer than many benchmark iterations.
var checkpoints sync.Map // shape name → *checkpoint.Checkpoint

// randomCheckpoint returns a BERT checkpoint of shape s with bert-base-uncased's vocabulary size,
// two labels, no pooler or classifier (the model draws them) and weights from N(0, 0.02²).
func randomCheckpoint(s shape) *checkpoint.Checkpoint {
	if ck, ok := checkpoints.Load(s.name); ok {
		return ck.(*checkpoint.Checkpoint)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	cfg := checkpoint.Config{
		VocabSize: 30522, HiddenSize: s.hidden, NumHiddenLayers: s.layers, NumAttentionHeads: s.heads,
		IntermediateSize: s.ffn, HiddenAct: checkpoint.ActivationGELU, MaxPositionEmbeddings: 512,
		TypeVocabSize: 2, LayerNormEps: 1e-12, ModelType: "bert",
	}
	tensors := map[string]*checkpoint.Tensor{}
	add := func(name string, fill float32, dims ...int) {
		n := 1
		for _, d := range dims {
			n *= d
		}
		t := &checkpoint.Tensor{Shape: dims, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = fill
			if fill == 0 {
				t.Data[i] = float32(rng.NormFloat64() * 0.02)
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
	ck := &checkpoint.Checkpoint{Config: cfg, Tensors: tensors}
	actual, _ := checkpoints.LoadOrStore(s.name, ck)
	return actual.(*checkpoint.Checkpoint)
}

// randomExamples returns n labelled sequences of seqLen random token ids, each starting with
// [CLS] (101) and ending with [SEP] (102).
func randomExamples(n int, seed uint64) []train.Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	examples := make([]train.Example, n)
	for i := range examples {
		ids := make([]int, seqLen)
		for j := range ids {
			ids[j] = 1000 + rng.IntN(29000)
		}
		ids[0], ids[seqLen-1] = 101, 102
		examples[i] = train.Example{IDs: ids, Label: rng.IntN(2)}
	}
	return examples
}

// batchOf returns the sequences of examples as a bert.Batch.
func batchOf(examples []train.Example) bert.Batch {
	var b bert.Batch
	for _, e := range examples {
		b.IDs = append(b.IDs, e.IDs)
	}
	return b
}
