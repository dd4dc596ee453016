package bert_test

import (
	"fmt"
	"os"
	"path/filepath"

	cyberbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// A model with adapters on the pooler too ("dense", as PEFT reads it), exported merged for
// cybertron, whose own BertForSequenceClassification then runs it.
func ExampleModel_ExportCybertron() {
	base := "../checkpoint/testdata/tiny-bert"
	ck, err := checkpoint.LoadDir(base)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := bert.New(ck, bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: peft.Targets{Modules: []string{"dense"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pooler adapted:", m.Adapters()["pooler.dense"] != nil)
	// … training …
	dir, err := os.MkdirTemp("", "cybertron-export")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := m.ExportCybertron(dir, filepath.Join(base, "vocab.txt"), filepath.Join(base, "tokenizer_config.json")); err != nil {
		fmt.Println(err)
		return
	}
	cyber, err := nn.LoadFromFile[*cyberbert.ModelForSequenceClassification](filepath.Join(dir, "spago_model.bin"))
	if err != nil {
		fmt.Println(err)
		return
	}
	logits := cyber.Classify([]string{"[CLS]", "a", "film", "[SEP]"})
	fmt.Println("cybertron logits:", logits.Value().Size())
	// Output:
	// pooler adapted: true
	// cybertron logits: 3
}
