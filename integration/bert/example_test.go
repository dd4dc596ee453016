package bert_test

import (
	"fmt"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// A BERT classifier with HRA adapters on the query and value projections: the checkpoint's weights
// are frozen, the adapters and the classification head are trained.
func Example() {
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
	trainable, total := m.NumParams()
	fmt.Printf("%d adapters, %d of %d parameters trainable\n", len(m.Adapters()), trainable, total)

	logits, err := m.Logits(bert.Batch{IDs: [][]int{{2, 5, 8, 37, 3}, {2, 40, 3}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logits:", logits.Value().Shape())
	// Output:
	// 4 adapters, 2179 of 23555 parameters trainable
	// logits: [2 3]
}
