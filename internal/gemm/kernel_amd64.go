package gemm

import "golang.org/x/sys/cpu"

// float32Blocking multiplies float32 matrices: with the AVX2/FMA assembly kernel where the CPU
// has both, else with the portable one.
var float32Blocking = func() *blocking[float32] {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return &blocking[float32]{
			mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072,
			tile: tile6x16, fullPanelA: panelA6, fullPanelB: panelB16,
		}
	}
	return newPortableBlocking[float32]()
}()

// tile6x16 checks the bounds that kernel6x16 relies on and calls it.
func tile6x16(kc int, ap, bp, c []float32, ldc int, alpha, beta float32) {
	_ = ap[6*kc-1]
	_ = bp[16*kc-1]
	_ = c[5*ldc+15]
	kernel6x16(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta)
}

// kernel6x16 computes a 6×16 tile, C ← alpha·Ap·Bp + beta·C, in twelve YMM accumulators; it
// reads 6·kc values at ap, 16·kc at bp and a 6×16 tile at c with row stride ldc, and does not
// read C when beta is 0. kc ≥ 1.
//
//go:noescape
func kernel6x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32)

// panelA6 packs a full 6-row panel of op(A) with packA6N or packA6T.
func panelA6(panel []float32, trans bool, src []float32, ld, kc int) {
	_ = panel[6*kc-1]
	if trans {
		_ = src[(kc-1)*ld+5]
		packA6T(kc, &src[0], ld, &panel[0])
		return
	}
	_ = src[5*ld+kc-1]
	packA6N(kc, &src[0], ld, &panel[0])
}

// panelB16 packs a full 16-column panel of op(B) with packB16N or packB16T.
func panelB16(panel []float32, trans bool, src []float32, ld, kc int) {
	_ = panel[16*kc-1]
	if trans {
		_ = src[15*ld+kc-1]
		packB16T(kc, &src[0], ld, &panel[0])
		return
	}
	_ = src[(kc-1)*ld+15]
	packB16N(kc, &src[0], ld, &panel[0])
}

// The packing routines copy a full panel of kc columns (A) or rows (B) from src, stride ld,
// into the layout kernel6x16 reads; panelA6 and panelB16 check their bounds. kc ≥ 1.

//go:noescape
func packA6N(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packA6T(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packB16N(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packB16T(kc int, src *float32, ld int, panel *float32)
