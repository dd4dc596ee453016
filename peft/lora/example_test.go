package lora_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
)

// Example wraps a linear layer with LoRA, runs it on two tokens, and merges the update into the
// layer's weights for inference.
func Example() {
	base := linear.New[float32](4, 3) // W is 3×4; in practice, a pretrained layer
	copy(base.W.Data().F32(), []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0})
	m, err := lora.New(base, lora.Config{R: 2, Alpha: 4, Dropout: 0.1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Println("trainable parameters:", peft.CountParams(m.TrainableParams()), "scale:", m.Config.Scale())

	x := mat.NewDense[float32](mat.WithShape(2, 4), mat.WithBacking([]float32{1, 2, 3, 4, 5, 6, 7, 8}))
	fmt.Println("at init, the base output:", m.ForwardRows(x).Value().Data().F32()[:3])

	// Training (m.SetTraining(true), any spago optimizer on m.TrainableParams()) moves B from
	// zero; here one value stands in for it.
	m.B.Data().F32()[0] = 0.5
	y := m.ForwardRows(x).Value().Data().F32()

	if err := m.Merge(); err != nil { // W ← W + s·B·A: the forward is now the plain layer's
		panic(err)
	}
	merged := m.ForwardRows(x).Value().Data().F32()
	fmt.Printf("adapted %.4f, merged %.4f\n", y[:3], merged[:3])
	// Output:
	// trainable parameters: 14 scale: 2
	// at init, the base output: [1 2 3]
	// adapted [0.8440 2.0000 3.0000], merged [0.8440 2.0000 3.0000]
}
