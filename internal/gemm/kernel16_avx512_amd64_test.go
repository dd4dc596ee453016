package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestTallKernelSameBits checks that products of up to 16 rows give the same bits, in every
// element, with the 16-row tile as with 8-row ones (SetTallKernel): both sum each element's k
// steps in order in one accumulator and finish it with the same operations. The shapes cover
// every row count to 16, k not a multiple of 4 or across kc blocks, and n with edge columns.
func TestTallKernelSameBits(t *testing.T) {
	if avx512Blocking == nil {
		t.Skip("the CPU has no AVX-512F")
	}
	defer SetTallKernel(SetTallKernel(true))
	tiny := &blocking[float32]{mr: 8, nr: 32, mc: 16, kc: 5, nc: 64,
		tile: avx512Blocking.tile, tall: avx512Blocking.tall, tallFrom: avx512Blocking.tallFrom,
		fullPanelA: avx512Blocking.fullPanelA, fullPanelB: avx512Blocking.fullPanelB}
	rng := rand.New(rand.NewPCG(7, 8))
	for name, bl := range map[string]*blocking[float32]{"blocks": avx512Blocking, "tiny": tiny} {
		for m := 1; m <= 17; m++ {
			for _, n := range []int{1, 17, 32, 33, 70, 96} {
				for _, k := range []int{1, 3, 4, 7, 64, 257} {
					for _, trans := range [][2]bool{{false, false}, {true, true}, {false, true}} {
						for _, sc := range []struct{ alpha, beta float32 }{{1, 0}, {-0.75, 2.5}, {2, 1}} {
							s := shape{m, n, k}
							a, lda, b, ldb := randomOperands(rng, s, trans)
							c, ldc := randomMatrix[float32](rng, m, n)
							want := append([]float32(nil), c...)
							SetTallKernel(false)
							blockingFunc(bl)(trans[0], trans[1], m, n, k, sc.alpha, a, lda, b, ldb, sc.beta, want, ldc)
							SetTallKernel(true)
							blockingFunc(bl)(trans[0], trans[1], m, n, k, sc.alpha, a, lda, b, ldb, sc.beta, c, ldc)
							where := fmt.Sprintf("%s %v trans=%v alpha=%v beta=%v", name, s, trans, sc.alpha, sc.beta)
							sameBits(t, where, c, want)
						}
					}
				}
			}
		}
	}
}

// TestTile16x32 checks tile16x32 against two tile8x32 calls for every row count (1 to 16) and
// a few k: the same bits in the rows it computes, C untouched past them, and C not read when
// beta is 0 (NaN there would show).
func TestTile16x32(t *testing.T) {
	if avx512Blocking == nil {
		t.Skip("the CPU has no AVX-512F")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const ldc = 35
	for rows := 1; rows <= 16; rows++ {
		for _, kc := range []int{1, 2, 4, 5, 9, 256} {
			for _, sc := range []struct{ alpha, beta float32 }{{1, 0}, {-0.75, 2.5}} {
				ap := randomSlice[float32](rng, 16*kc)
				bp := randomSlice[float32](rng, 32*kc)
				c := randomSlice[float32](rng, 16*ldc)
				if sc.beta == 0 {
					for i := range rows * ldc {
						c[i] = float32(math.NaN())
					}
				}
				want := append([]float32(nil), c...)
				tile8x32(min(rows, 8), kc, ap[:8*kc], bp, want, ldc, sc.alpha, sc.beta)
				if rows > 8 {
					tile8x32(rows-8, kc, ap[8*kc:], bp, want[8*ldc:], ldc, sc.alpha, sc.beta)
				}
				tile16x32(rows, kc, ap, bp, c, ldc, sc.alpha, sc.beta)
				sameBits(t, fmt.Sprintf("rows=%d kc=%d alpha=%v beta=%v", rows, kc, sc.alpha, sc.beta), c, want)
			}
		}
	}
}

// sameBits fails t unless got and want hold the same bits, NaNs included.
func sameBits(t *testing.T, where string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %v, want %v", where, i, got[i], want[i])
		}
	}
}
