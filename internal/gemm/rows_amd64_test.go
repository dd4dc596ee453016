package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat/float"
)

// TestRowsIndependentOfProduct checks that a row of C gets the same bits whichever rows of
// op(A) the product holds around it: every contiguous range of rows, multiplied alone, gives
// the full product's rows. Attention over some of a sequence's queries (op.AttentionQueries)
// relies on it; it holds because every micro-kernel, the edge ones included, sums each
// element's k steps in order, and the cache blocks of k and n do not depend on m.
func TestRowsIndependentOfProduct(t *testing.T) {
	paths := map[string]*blocking[float32]{"avx2": avx2Blocking, "avx512": avx512Blocking}
	for name, bl := range paths {
		t.Run(name, func(t *testing.T) {
			if bl == nil {
				t.Skip("the CPU has no AVX-512F")
			}
			checkRowRanges(t, blockingFunc(bl))
		})
	}
	t.Run("float64", func(t *testing.T) { checkRowRanges(t, float64Blocking.gemm) })
}

func checkRowRanges[T float.DType](t *testing.T, f gemmFunc[T]) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range []int{1, 2, 3, 5, 7, 8, 13, 14, 33} {
		for _, n := range []int{5, 16, 17, 40} {
			for _, k := range []int{3, 4, 7, 64, 300} {
				for _, transA := range []bool{false, true} {
					for _, sc := range []struct{ alpha, beta T }{{1, 0}, {-0.75, 2.5}} {
						s := shape{m, n, k}
						rowsA, colsA := m, k
						if transA {
							rowsA, colsA = k, m
						}
						a, lda := randomMatrix[T](rng, rowsA, colsA)
						b, ldb := randomMatrix[T](rng, n, k)
						c0, ldc := randomMatrix[T](rng, m, n)
						full := append([]T(nil), c0...)
						f(transA, true, m, n, k, sc.alpha, a, lda, b, ldb, sc.beta, full, ldc)
						for i0 := 0; i0 < m; i0++ {
							for i1 := i0 + 1; i1 <= m; i1++ {
								from := i0 * lda
								if transA {
									from = i0
								}
								part := append([]T(nil), c0[i0*ldc:]...)
								f(transA, true, i1-i0, n, k, sc.alpha, a[from:], lda, b, ldb, sc.beta, part, ldc)
								for i := i0; i < i1; i++ {
									for j := range n {
										x, y := full[i*ldc+j], part[(i-i0)*ldc+j]
										if math.Float64bits(float64(x)) != math.Float64bits(float64(y)) {
											t.Fatalf("%v transA=%v alpha=%v: row %d is %v at column %d alone with rows [%d, %d), %v in the full product",
												s, transA, sc.alpha, i, y, j, i0, i1, x)
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}
