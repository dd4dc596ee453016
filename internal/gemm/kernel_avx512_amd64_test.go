package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelPaths runs the correctness checks on both amd64 paths, whichever Gemm picks (the
// AVX2 one is the fallback on CPUs without AVX-512), each also with blocks so small that every
// shape crosses several mc, kc and nc blocks.
func TestKernelPaths(t *testing.T) {
	paths := map[string]*blocking[float32]{"avx2": avx2Blocking, "avx512": avx512Blocking}
	for name, bl := range paths {
		t.Run(name, func(t *testing.T) {
			if bl == nil {
				t.Skip("the CPU has no AVX-512F")
			}
			tiny := &blocking[float32]{mr: bl.mr, nr: bl.nr, mc: 2 * bl.mr, kc: 5, nc: 2 * bl.nr,
				tile: bl.tile, tall: bl.tall, tallFrom: bl.tallFrom, fullPanelA: bl.fullPanelA, fullPanelB: bl.fullPanelB}
			for sub, b := range map[string]*blocking[float32]{"blocks": bl, "tiny": tiny} {
				t.Run(sub, func(t *testing.T) {
					checkAll(t, blockingFunc(b), smallShapes(), 1e-6)
				})
			}
		})
	}
}

// TestAVX512SameBitsAsAVX2 checks that the AVX-512 path gives the AVX2 path's results bit for
// bit, in every row (both sum each element in k's order in one accumulator, whatever tile
// computes it), though not in the last columns, which both paths compute into a scratch tile and add to beta·C without an FMA, the
// AVX2 one over fewer columns (TestKernelPaths bounds the error of both).
func TestAVX512SameBitsAsAVX2(t *testing.T) {
	if avx512Blocking == nil {
		t.Skip("the CPU has no AVX-512F")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range append(smallShapes(), shape{256, 1536, 384}, shape{32, 384, 1536}) {
		for _, trans := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, sc := range scalars[:3] {
				a, lda, b, ldb := randomOperands(rng, s, trans)
				c, ldc := randomMatrix[float32](rng, s.m, s.n)
				c2 := append([]float32(nil), c...)
				alpha, beta := float32(sc.alpha), float32(sc.beta)
				blockingFunc(avx2Blocking)(trans[0], trans[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc)
				blockingFunc(avx512Blocking)(trans[0], trans[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c2, ldc)
				for i := range s.m {
					for j := range s.n / 32 * 32 { // n ≤ nc: one column block

						x, y := c[i*ldc+j], c2[i*ldc+j]
						if math.Float32bits(x) != math.Float32bits(y) {
							t.Fatalf("%v trans=%v alpha=%v beta=%v: C[%d,%d] is %v with AVX2, %v with AVX-512", s, trans, alpha, beta, i, j, x, y)
						}
					}
				}
			}
		}
	}
}

// TestSetAVX512 checks that the switch selects the paths and reports the previous choice.
func TestSetAVX512(t *testing.T) {
	defer SetAVX512(SetAVX512(false))
	if float32Blocking != avx2Blocking {
		t.Fatal("SetAVX512(false) left the AVX-512 path selected")
	}
	if was := SetAVX512(true); was {
		t.Fatal("SetAVX512 reported AVX-512 selected after SetAVX512(false)")
	}
	if want := avx512Blocking != nil; (float32Blocking == avx512Blocking) != want {
		t.Fatalf("SetAVX512(true): AVX-512 selected = %v, want %v (the CPU's AVX-512F)", !want, want)
	}
}

// TestNarrowProducts checks which blocking takes a product by its columns: with AVX-512
// selected, the AVX2 one up to 16 columns (an adapter's rank), else AVX2 for all.
func TestNarrowProducts(t *testing.T) {
	defer SetAVX512(SetAVX512(true))
	for _, avx512 := range []bool{true, false} {
		SetAVX512(avx512)
		for _, n := range []int{1, 8, 16, 17, 32, 384} {
			want := avx2Blocking
			if avx512 && avx512Blocking != nil && n > 16 {
				want = avx512Blocking
			}
			if got := float32BlockingFor(n); got != want {
				t.Errorf("AVX-512 %v, %d columns: blocking with %d×%d tiles, want %d×%d", avx512, n, got.mr, got.nr, want.mr, want.nr)
			}
		}
	}
}

func init() { // BenchmarkGemm's impl=go-avx2
	if avx512Blocking != nil { // on amd64 with AVX-512F: the AVX2 path too, for comparison
		benchImpls["go-avx2"] = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			avx2Blocking.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
}
