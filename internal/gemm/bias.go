package gemm

import (
	"fmt"

	"github.com/nlpodyssey/spago/mat/float"
)

// GemmBias computes C ← alpha·op(A)·op(B) + bias, with bias (n values) added to every row of C:
// a linear layer's output. The result is Gemm's with each row of C set to bias and beta 1, bit
// for bit, without that pass over C: each tile of C takes the bias just before the micro-kernel
// adds its product on. With cachedB, op(B) is packed and kept as GemmCachedB does.
func GemmBias[T float.DType](cachedB, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, bias, c []T, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if len(bias) < n {
		panic(fmt.Sprintf("gemm: bias has %d elements, C has %d columns", len(bias), n))
	}
	if m == 0 || n == 0 {
		return
	}
	if !biasInKernel || !biasInProduct || k == 0 || alpha == 0 {
		for i := range m {
			copy(c[i*ldc:i*ldc+n], bias[:n])
		}
		product(cachedB, transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
		return
	}
	switch c := any(c).(type) {
	case []float32:
		gemmBiasFloat32(cachedB, transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, any(bias).([]float32), c, ldc)
	case []float64:
		gemmBiasFloat64(cachedB, transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, any(bias).([]float64), c, ldc)
	}
}

// biasInProduct lets GemmBias add the bias tile by tile; SetBiasInProduct switches it.
var biasInProduct = true

// SetBiasInProduct has GemmBias add the bias tile by tile inside the product (on) or set C to it
// in a pass of its own first (off), and returns whether it was on: for benchmarks that compare
// both within one process. The results are the same either way. Call it only while no product
// runs.
func SetBiasInProduct(on bool) (was bool) {
	was, biasInProduct = biasInProduct, on
	return was
}

// gemmBias is gemm (or gemmCached) with a bias set into each tile before its first k block.
func (bl *blocking[T]) gemmBias(cachedB, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, bias, c []T, ldc int) {
	var packedB []T
	if cachedB {
		packedB = bl.packedB(transB, n, k, b, ldb)
	}
	bl.gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc, packedB, bias[:n])
}
