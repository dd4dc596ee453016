package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestMergedPhases checks that a product with op(B) packed whole gives the same bits with its
// phases merged (runPrepacked) as per k block (run), with blocks so small that the shapes cross
// several slabs, mc, kc and nc blocks, for both trans flags of A and B and several scalars, and
// with slabs too large to merge.
func TestMergedPhases(t *testing.T) {
	defer SetMergedPhases(SetMergedPhases(true))
	chosen := float32Blocking
	tiny := &blocking[float32]{mr: chosen.mr, nr: chosen.nr, mc: 2 * chosen.mr, kc: 5, nc: 2 * chosen.nr,
		tile: chosen.tile, fullPanelA: chosen.fullPanelA, fullPanelB: chosen.fullPanelB}
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := append(smallShapes(), shape{600, 40, 30}, shape{32, 1536, 384}, shape{256, 384, 1536}, shape{1400, 64, 1600})
	for name, bl := range map[string]*blocking[float32]{"chosen": chosen, "tiny": tiny} {
		for _, s := range shapes {
			if s.m*s.n*s.k == 0 {
				continue
			}
			for _, trans := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				sc := scalars[(s.m+s.n+s.k)%len(scalars)]
				if sc.alpha == 0 {
					sc = scalars[2]
				}
				a, lda, b, ldb := randomOperands(rng, s, trans)
				c, ldc := randomMatrix[float32](rng, s.m, s.n)
				want := append([]float32(nil), c...)
				alpha, beta := float32(sc.alpha), float32(sc.beta)
				packed := bl.packedB(trans[1], s.n, s.k, b, ldb)
				SetMergedPhases(false)
				bl.gemmPacked(trans[0], trans[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, want, ldc, packed)
				SetMergedPhases(true)
				bl.gemmPacked(trans[0], trans[1], s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc, packed)
				mustEqual(t, fmt.Sprintf("%s/%v/trans=%v", name, s, trans), c, want)
			}
		}
	}
}

// randomOperands returns A and B for a product of shape s with the trans flags of A and B, as
// stored (op(A) is s.m×s.k, op(B) s.k×s.n), with their row strides (see randomMatrix).
func randomOperands(rng *rand.Rand, s shape, trans [2]bool) (a []float32, lda int, b []float32, ldb int) {
	rowsA, colsA := s.m, s.k
	if trans[0] {
		rowsA, colsA = s.k, s.m
	}
	rowsB, colsB := s.k, s.n
	if trans[1] {
		rowsB, colsB = s.n, s.k
	}
	a, lda = randomMatrix[float32](rng, rowsA, colsA)
	b, ldb = randomMatrix[float32](rng, rowsB, colsB)
	return a, lda, b, ldb
}
