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
