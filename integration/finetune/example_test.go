package finetune_test

import (
	"context"
	"fmt"
	"log"

	"github.com/spago-peft/spago-peft/integration/finetune"
)

// Fine-tune HRA adapters on the embedded sample with the offline default base, then classify new
// sentences. With real data and a real checkpoint, set Job.Model and Job.Data.
func ExampleRun() {
	adapter, full, err := finetune.Method{Kind: finetune.KindHRA}.Adapter() // r = 8
	if err != nil {
		log.Fatal(err)
	}
	res, err := finetune.Run(context.Background(), finetune.Job{
		Adapter: adapter, FullFineTune: full, Steps: 20, BatchSize: 16, Seed: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d of %d parameters trainable (%.2f%% of the base)\n", res.Method, res.Trainable, res.Base, res.PercentOfBase())
	fmt.Printf("%d steps, dev accuracy measured on %d sentences\n", res.Steps, res.Dev.Examples)

	preds, err := finetune.Predict(res.Model, res.Tokenizer, []string{"a warm and funny film"}, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("classes:", len(preds[0].Probs))
	// Output:
	// hra r=8: 20866 of 518914 parameters trainable (4.02% of the base)
	// 20 steps, dev accuracy measured on 128 sentences
	// classes: 2
}
