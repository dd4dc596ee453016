package gemm_test

import (
	"fmt"

	"github.com/spago-peft/spago-peft/internal/gemm"
)

// A 2×3 matrix times the transpose of a 2×3 matrix, accumulated onto C with beta = 1.
func ExampleGemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	c := []float32{
		10, 20,
		30, 40,
	}
	gemm.Gemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 1, c, 2)
	fmt.Println(c)
	// Output: [14 22 40 45]
}

// A frozen weight W (out×in = 2×3) applied to two batches of tokens: the first product packs W
// and keeps the packing, the second reuses it. Before W is written in place, Forget drops it.
func ExampleGemmCachedB() {
	w := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	y := make([]float32, 2)
	for _, x := range [][]float32{{1, 2, 3}, {4, 5, 6}} {
		gemm.GemmCachedB(false, true, 1, 2, 3, 1, x, 3, w, 3, 0, y, 2) // y = x·Wᵀ
		fmt.Println(y)
	}
	gemm.Forget(w)
	w[1] = 10
	gemm.GemmCachedB(false, true, 1, 2, 3, 1, []float32{1, 1, 1}, 3, w, 3, 0, y, 2)
	fmt.Println(y)
	// Output:
	// [4 2]
	// [10 5]
	// [12 1]
}
