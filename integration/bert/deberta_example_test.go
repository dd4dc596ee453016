package bert_test

import (
	"fmt"
	"slices"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// A DeBERTa-v3 classifier (model_type deberta-v2) with LoRA on PEFT's default targets for it,
// query_proj and value_proj; the disentangled attention also runs the relative-position
// embeddings through the adapted query_proj, as PEFT does.
func Example_deberta() {
	ck, err := checkpoint.LoadDir("testdata/tiny-deberta-v3")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := bert.New(ck, bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	var adapted []string
	for name := range m.Adapters() {
		adapted = append(adapted, name)
	}
	slices.Sort(adapted)
	fmt.Println(adapted[0])
	fmt.Println(adapted[1])

	// [CLS] a warm, funny and deeply moving film [SEP], and [CLS] dull [SEP], as DeBERTa-v3's
	// SentencePiece tokenizer (hfjson.LoadDir on its spm.model) gives them.
	logits, err := m.Logits(bert.Batch{IDs: [][]int{{1, 7, 798, 2998, 116, 9, 640, 424, 29, 2}, {1, 392, 2}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logits:", logits.Value().Shape())
	// Output:
	// encoder.layer.0.attention.self.query_proj
	// encoder.layer.0.attention.self.value_proj
	// logits: [2 3]
}
