package oft_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// Wrap a linear layer with OFT, set R as training would, then fold the rotation into W.
func Example() {
	base := linear.New[float64](8, 2)
	base.W.SetData(mat.NewDense[float64](mat.WithShape(2, 8), mat.WithBacking([]float64{
		1, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0, 0, 0,
	})).Data())

	var cfg peft.Config = oft.Config{BlockSize: 4} // two 4×4 blocks, 6 parameters each
	adapter, err := cfg.New(base, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("trainable:", peft.CountParams(adapter.TrainableParams()))

	x := mat.NewDense[float64](mat.WithShape(1, 8), mat.WithBacking([]float64{1, 2, 3, 4, 5, 6, 7, 8}))
	fmt.Println("at init:", adapter.ForwardRows(x).Value().Data().F64())

	// A quarter turn in the plane of features 0 and 1: with Q[0][1] = 1, PEFT's block matrix
	// A = (I − Q)(I + Q)⁻¹ maps a token block x to x·A = (x1, −x0, x2, x3).
	params := make([]float64, 12)
	params[0] = 1
	adapter.(*oft.Model).R.SetData(float.Make(params...))
	fmt.Printf("rotated: %.4g\n", adapter.ForwardRows(x).Value().Data().F64())

	if err := adapter.Merge(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("merged: %.4g\n", adapter.ForwardRows(x).Value().Data().F64())
	// Output:
	// trainable: 12
	// at init: [1 5]
	// rotated: [2 5]
	// merged: [2 5]
}

// An in_features that the block size does not divide gets an error naming the valid sizes near it.
func ExampleConfig_New() {
	_, err := oft.Config{BlockSize: 30}.New(linear.New[float32](768, 768), rand.New(rand.NewPCG(1, 2)))
	fmt.Println(err)
	// Output:
	// peft: invalid adapter configuration: oft: oft_block_size = 30 does not divide in_features = 768; the nearest valid block sizes are 24 and 32
}
