package gemm

import "golang.org/x/sys/cpu"

// avx512Blocking multiplies float32 matrices with the AVX-512 kernel, on CPUs with AVX-512F
// (nil elsewhere). Its 8×32 tile uses 16 of the 32 zmm registers as accumulators and divides
// the row counts of BERT's products (32 tokens per sequence) with no edge tile, where the
// AVX2 kernel's 6 rows leave 2 at half speed. The cache blocks are the AVX2 path's: the same
// kc makes both paths sum each element in the same order, so they give the same bits in the
// tiles both compute whole (a kc·32 B panel of 32 KiB outgrows L1, but the kernel reads 128
// bytes of it per 16 FMAs, which L2 serves easily).
var avx512Blocking = func() *blocking[float32] {
	if !cpu.X86.HasAVX512F {
		return nil
	}
	return &blocking[float32]{
		mr: 8, nr: 32, mc: 144, kc: 256, nc: 3072,
		tile: tile8x32, fullPanelA: panelA8, fullPanelB: panelB32,
	}
}()

// avx2Blocking is the AVX2/FMA path, kept for CPUs without AVX-512 and for SetAVX512(false).
var avx2Blocking = float32Blocking

// float32Narrow, unless nil, multiplies float32 products of at most narrowColumns columns
// (see float32BlockingFor): the AVX2 path's 16-column tile, when the AVX-512 one is selected.
var float32Narrow *blocking[float32]

// narrowColumns is the most columns a product can have for float32Narrow to take it.
const narrowColumns = 16

func init() { SetAVX512(true) }

// SetAVX512 selects the AVX-512 micro-kernel (on, where the CPU has AVX-512F) or the AVX2 one
// for float32 products, and returns whether AVX-512 was selected: for tests and benchmarks
// that compare both within one process. Products of at most 16 columns (an adapter's rank)
// keep the AVX2 kernel either way, whose tile wastes fewer columns on them. Call it only while
// no product runs.
func SetAVX512(on bool) (was bool) {
	was = avx512Blocking != nil && float32Blocking == avx512Blocking
	if on && avx512Blocking != nil {
		float32Blocking, float32Narrow = avx512Blocking, avx2Blocking
	} else {
		float32Blocking, float32Narrow = avx2Blocking, nil
	}
	return was
}

// tile8x32 computes the first rows rows of an 8×32 tile with kernel8x32, or kernel4x32 for
// at most 4 rows, after checking the bounds they rely on.
func tile8x32(rows, kc int, ap, bp, c []float32, ldc int, alpha, beta float32) {
	_ = ap[8*kc-1]
	_ = bp[32*kc-1]
	_ = c[(rows-1)*ldc+31]
	if rows > 4 {
		kernel8x32(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta, rows)
		return
	}
	kernel4x32(kc, &ap[0], &bp[0], &c[0], ldc, alpha, beta, rows)
}

// kernel8x32 and kernel4x32 compute the first rows rows (at most 8 and 4) of a tile,
// C ← alpha·Ap·Bp + beta·C: they read 8·kc values at ap (an 8-row panel), 32·kc at bp and
// rows rows of 32 at c with row stride ldc, and do not read C when beta is 0. kc ≥ 1.

//go:noescape
func kernel8x32(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)

//go:noescape
func kernel4x32(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)

// panelA8 packs a full 8-row panel of op(A) with packA8N or packA8T.
func panelA8(panel []float32, trans bool, src []float32, ld, kc int) {
	_ = panel[8*kc-1]
	if trans {
		_ = src[(kc-1)*ld+7]
		packA8T(kc, &src[0], ld, &panel[0])
		return
	}
	_ = src[7*ld+kc-1]
	packA8N(kc, &src[0], ld, &panel[0])
}

// panelB32 packs a full 32-column panel of op(B) with packB32N or packB32T.
func panelB32(panel []float32, trans bool, src []float32, ld, kc int) {
	_ = panel[32*kc-1]
	if trans {
		_ = src[31*ld+kc-1]
		packB32T(kc, &src[0], ld, &panel[0])
		return
	}
	_ = src[(kc-1)*ld+31]
	packB32N(kc, &src[0], ld, &panel[0])
}

// The AVX-512 path's packing routines, as packA6N and the others (pack_amd64.s). kc ≥ 1.

//go:noescape
func packA8N(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packA8T(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packB32N(kc int, src *float32, ld int, panel *float32)

//go:noescape
func packB32T(kc int, src *float32, ld int, panel *float32)
