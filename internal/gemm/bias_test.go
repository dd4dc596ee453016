package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmBias checks GemmBias bit for bit against Gemm (and GemmCachedB) on C set to the bias
// row by row with beta 1, over the test shapes (edges of the tiles, several k blocks, products
// split across goroutines), every transpose and alpha 1 and −0.75, float32 and float64.
func TestGemmBias(t *testing.T) {
	t.Run("float32", func(t *testing.T) { checkBias[float32](t) })
	t.Run("float64", func(t *testing.T) { checkBias[float64](t) })
}

func checkBias[T float32 | float64](t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 51))
	for _, s := range append(testShapes(), shape{256, 1536, 384}, shape{40, 600, 520}) {
		for _, cached := range []bool{false, true} {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, alpha := range []T{1, -0.75} {
					name := fmt.Sprintf("%v/cached=%v/trans=%v/alpha=%v", s, cached, tr, alpha)
					rowsA, colsA := s.m, s.k
					if tr[0] {
						rowsA, colsA = s.k, s.m
					}
					rowsB, colsB := s.k, s.n
					if tr[1] {
						rowsB, colsB = s.n, s.k
					}
					a, lda := randomMatrix[T](rng, rowsA, colsA)
					b, ldb := randomMatrix[T](rng, rowsB, colsB)
					bias, _ := randomMatrix[T](rng, 1, s.n)
					got, ldc := randomMatrix[T](rng, s.m, s.n)
					want := append([]T(nil), got...)
					GemmBias(cached, tr[0], tr[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, bias, got, ldc)
					for i := range s.m {
						copy(want[i*ldc:i*ldc+s.n], bias[:s.n])
					}
					f := Gemm[T]
					if cached {
						f = GemmCachedB[T]
					}
					f(tr[0], tr[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, 1, want, ldc)
					mustEqual(t, name, got, want)
				}
			}
		}
	}
}

func TestGemmBiasPanicsOnShortBias(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a bias shorter than C's rows")
		}
	}()
	GemmBias(false, false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 3, make([]float32, 2), make([]float32, 6), 3)
}
