package train_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// AdamW trains the adapters of a user's own spago model, in place of spago's optimisers.
func ExampleAdamW() {
	type Model struct {
		nn.Module
		Layer nn.StandardModel
	}
	model := &Model{Layer: linear.New[float32](2, 1)}
	adapters, err := peft.Wrap(model, lora.Config{R: 1, Alpha: 1}, peft.Targets{Modules: []string{"layer"}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	opt, err := train.NewAdamW(peft.TrainableParams(adapters), 0.05, 0)
	if err != nil {
		log.Fatal(err)
	}
	x := mat.NewDense[float32](mat.WithShape(2, 1), mat.WithBacking([]float32{1, 2}))
	target := mat.NewDense[float32](mat.WithShape(1, 1), mat.WithBacking([]float32{3}))
	lossAt := func() mat.Tensor {
		return ag.Add(losses.MSE(model.Layer.Forward(x)[0], target, true), peft.Regularization(adapters))
	}
	fmt.Printf("loss before: %.3f\n", lossAt().Value().Item().F64())
	for range 100 {
		if err := ag.Backward(lossAt()); err != nil {
			log.Fatal(err)
		}
		if _, err := opt.Step(); err != nil { // updates, then clears the gradients
			log.Fatal(err)
		}
	}
	fmt.Printf("loss after:  %.3f\n", lossAt().Value().Item().F64())
	// Output:
	// loss before: 4.500
	// loss after:  0.000
}
