package hra_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
)

// An HRA adapter around a frozen 4×6 layer: at the paired init it changes nothing, only U (r×in
// values) trains, and merging folds H into W.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	base := linear.New[float32](6, 4)
	base.W.SetData(mat.NewDense[float32](mat.WithBacking([]float32{
		1, 0, 0, 0, 0, 0,
		0, 1, 0, 0, 0, 0,
		0, 0, 1, 0, 0, 0,
		0, 0, 0, 1, 1, 1,
	})).Data())

	var cfg peft.Config = hra.Config{R: 2} // or lora.Config{...}, oft.Config{...}
	adapter, err := cfg.New(base, rng)
	if err != nil {
		panic(err)
	}
	x := mat.NewDense[float32](mat.WithShape(1, 6), mat.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	fmt.Println("output:", adapter.ForwardRows(x).Value().Data().F32())
	fmt.Println("trainable:", peft.CountParams(adapter.TrainableParams()))

	y := adapter.ForwardRows(x)
	y.AccGrad(y.Value().(mat.Matrix).OnesLike())
	_ = ag.Backward(y)
	fmt.Println("base W has a gradient:", base.W.HasGrad())

	_ = adapter.Merge()
	fmt.Println("merged:", adapter.Merged())
	// Output:
	// output: [1 2 3 15]
	// trainable: 12
	// base W has a gradient: false
	// merged: true
}
