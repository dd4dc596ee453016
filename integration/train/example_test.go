package train_test

import (
	"context"
	"fmt"
	"log"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// Fine-tune HRA adapters and the classification head of a BERT checkpoint on labelled sentences.
// With real data the examples come from dataset.ReadDir("glue/sst2").
func ExampleFit() {
	const dir = "../checkpoint/testdata/tiny-bert" // a tiny random BERT with a 98-word vocabulary
	ck, err := checkpoint.LoadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	model, err := bert.New(ck, bert.Options{
		Adapter: hra.Config{R: 8}, Targets: peft.DefaultBertTargets, NumLabels: 2, Seed: 1,
	})
	if err != nil {
		log.Fatal(err)
	}

	var texts []dataset.Example
	for i, subject := range []string{"the movie", "this film", "the story", "the acting", "its script", "the plot"} {
		for j, word := range []string{"good", "great", "brilliant", "funny", "bad", "awful", "boring", "dull"} {
			texts = append(texts, dataset.Example{Text: fmt.Sprintf("%s was %s", subject, word), Label: 1 - j/4})
			if (i+j)%3 == 0 {
				texts[len(texts)-1].Text = fmt.Sprintf("%s is really %s .", subject, word)
			}
		}
	}
	examples := train.Encode(tok, dataset.Shuffle(texts, 1), 32)
	trainSet, devSet := examples[:36], examples[36:]

	history, err := train.Fit(context.Background(), model, trainSet, train.Options{
		Steps: 60, BatchSize: 8, LR: 3e-2, WarmupRatio: 0.1, Seed: 1,
		EvalSet: devSet, EvalEvery: 30, // and after the last step
	})
	if err != nil {
		log.Fatal(err)
	}
	first, last := history.Steps[0], history.Steps[len(history.Steps)-1]
	fmt.Printf("%d steps, training loss fell: %v\n", last.Step, last.Loss < first.Loss/10)
	final := history.Evals[len(history.Evals)-1]
	fmt.Printf("dev accuracy after step %d: %.2f\n", final.Step, final.Accuracy)
	// Output:
	// 60 steps, training loss fell: true
	// dev accuracy after step 60: 1.00
}
