package bert

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// benchCheckpoint returns a random checkpoint of model_type bert or deberta-v2 (DeBERTa-v3's
// layout: 256 buckets over 512 positions, shared keys, no absolute positions or token types) of
// base size (hidden 768, 12 heads, FFN 3072) with 4 layers and a vocabulary of 1000.
func benchCheckpoint(b *testing.B, modelType string) *checkpoint.Checkpoint {
	b.Helper()
	const h, layers, ffn, vocab = 768, 4, 3072, 1000
	keys := map[string]any{
		"model_type": modelType, "vocab_size": vocab, "hidden_size": h, "num_hidden_layers": layers,
		"num_attention_heads": 12, "intermediate_size": ffn, "hidden_act": "gelu", "max_position_embeddings": 512,
		"type_vocab_size": 2, "layer_norm_eps": 1e-7, "num_labels": 2,
	}
	prefix := map[string]string{"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
	if modelType == "deberta-v2" {
		for k, v := range map[string]any{"type_vocab_size": 0, "relative_attention": true, "position_buckets": 256,
			"max_relative_positions": -1, "pos_att_type": "p2c|c2p", "share_att_key": true, "norm_rel_ebd": "layer_norm",
			"position_biased_input": false} {
			keys[k] = v
		}
		prefix = map[string]string{"q": "attention.self.query_proj", "k": "attention.self.key_proj", "v": "attention.self.value_proj"}
	}
	data, err := json.Marshal(keys)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := checkpoint.ParseConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	tensors := map[string]*checkpoint.Tensor{}
	add := func(name string, dims ...int) {
		n := 1
		for _, d := range dims {
			n *= d
		}
		t := &checkpoint.Tensor{Shape: dims, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * 0.02)
		}
		tensors[name] = t
	}
	linear := func(name string, out, in int) { add(name+".weight", out, in); add(name+".bias", out) }
	norm := func(name string) { add(name+".weight", h); add(name+".bias", h) }
	add("embeddings.word_embeddings.weight", vocab, h)
	norm("embeddings.LayerNorm")
	if modelType == "bert" {
		add("embeddings.position_embeddings.weight", 512, h)
		add("embeddings.token_type_embeddings.weight", 2, h)
	} else {
		add(checkpoint.DebertaRelEmbeddings+".weight", 512, h)
		norm(checkpoint.DebertaRelNorm)
	}
	for i := range layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, m := range []string{prefix["q"], prefix["k"], prefix["v"], "attention.output.dense"} {
			linear(p+m, h, h)
		}
		norm(p + "attention.output.LayerNorm")
		linear(p+"intermediate.dense", ffn, h)
		linear(p+"output.dense", h, ffn)
		norm(p + "output.LayerNorm")
	}
	return &checkpoint.Checkpoint{Config: cfg, Tensors: tensors}
}

// BenchmarkDebertaTrainStep times the forward and backward pass of a batch of 8 sequences through
// a base-sized encoder with LoRA (r 8) on PEFT's default targets (query and value projections),
// BERT's and DeBERTa-v3's in the same run: their ratio is what the disentangled attention and
// the projection of the relative embeddings cost in a whole model.
func BenchmarkDebertaTrainStep(b *testing.B) {
	for _, l := range []int{64, 128} {
		for _, modelType := range []string{"bert", "deberta-v2"} {
			b.Run(fmt.Sprintf("len=%d/%s", l, modelType), func(b *testing.B) {
				m, err := New(benchCheckpoint(b, modelType), Options{Adapter: lora.Config{R: 8, Alpha: 16}, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(2, 0))
				var batch Batch
				for range 8 {
					ids := make([]int, l)
					for j := range ids {
						ids[j] = 3 + rng.IntN(997)
					}
					batch.IDs = append(batch.IDs, ids)
				}
				for b.Loop() {
					y, err := m.Logits(batch)
					if err != nil {
						b.Fatal(err)
					}
					if err := ag.Backward(projection(y, 1)); err != nil {
						b.Fatal(err)
					}
					for _, p := range m.TrainableParams() {
						p.ZeroGrad()
					}
				}
			})
		}
	}
}
