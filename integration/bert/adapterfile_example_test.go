package bert_test

import (
	"fmt"
	"os"
	"slices"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// A fine-tuned model's adapters saved in PEFT's format, loaded back onto the base checkpoint, and
// exported with the adapters merged as a plain checkpoint.
func ExampleModel_SaveAdapter() {
	ck, err := checkpoint.LoadDir("../checkpoint/testdata/tiny-bert")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := bert.New(ck, bert.Options{Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	// … training …
	dir, err := os.MkdirTemp("", "hra-adapter")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := m.SaveAdapter(dir, peft.Meta{BaseModel: "tiny-bert"}); err != nil {
		fmt.Println(err)
		return
	}

	loaded, err := bert.LoadAdapter(ck, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	batch := bert.Batch{IDs: [][]int{{2, 5, 8, 37, 3}}}
	a, _ := m.Logits(batch)
	b, _ := loaded.Logits(batch)
	fmt.Println("same logits:", slices.Equal(a.Value().Data().F32(), b.Value().Data().F32()))

	if err := loaded.ExportMerged(dir+"/merged", "../checkpoint/testdata/tiny-bert/vocab.txt"); err != nil {
		fmt.Println(err)
		return
	}
	merged, err := checkpoint.LoadDir(dir + "/merged")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("merged checkpoint:", len(merged.Tensors), "tensors,", merged.Config.NumLabels(), "labels")
	// Output:
	// same logits: true
	// merged checkpoint: 41 tensors, 3 labels
}
