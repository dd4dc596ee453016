package gemm

import "golang.org/x/sys/cpu"

// float32Blocking multiplies float32 matrices: with the AVX-512 kernel where the CPU has
// AVX-512F (kernel_avx512_amd64.go), else with the AVX2/FMA assembly kernel where it has both,
// else with the portable one. The blocks suit current x86 cores (measured on Zen 4): a 16×256
// B panel (16 KiB) stays in a 32 KiB L1 with the A panel it meets, a 144×256 A block (144 KiB)
// in L2, a 256×3072 B block (3 MiB) in L3.
var float32Blocking = func() *blocking[float32] {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return &blocking[float32]{
			mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072,
			tile: tile6x16, fullPanelA: panelA6, fullPanelB: panelB16,
		}
	}
	return newPortableBlocking[float32]()
}()

// tile6x16 computes the first rows rows of a 6×16 tile with kernel6x16, or kernel4x16 for at
// most 4 rows, after checking the bounds they rely on. (A 2-row kernel, which summed the even
// and odd steps of k apart to keep FMAs in flight, ran no faster than kernel4x16 and made a
// row's bits depend on the rows sharing its product: a batch split among cores changed them.)
func tile6x16(rows, kc int, ap, bp, c []float32, ldc int, alpha, beta float32) {
	_ = ap[6*kc-1]
	_ = bp[16*kc-1]
	_ = c[(rows-1)*ldc+15]
	if rows > 4 {
		kernel6x16(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta, rows)
		return
	}
	kernel4x16(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta, rows)
}

// kernel6x16 and kernel4x16 compute the first rows rows (at most 6 and 4) of a tile, C ← alpha·Ap·Bp + beta·C: they read 6·kc values at ap (a 6-row panel), 16·kc at bp and
// rows rows of 16 at c with row stride ldc, and do not read C when beta is 0. kc ≥ 1.

//go:noescape
func kernel6x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)

//go:noescape
func kernel4x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)

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
