package gemm

import (
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
)

// tileFunc computes the first rows rows (1 to mr) of an mr×nr tile: C ← alpha·Ap·Bp + beta·C,
// where Ap holds kc columns of mr values (an A panel packed by packA) and Bp kc rows of nr
// values (packed by packB). C is the tile's top-left element, rows ldc apart. When beta is 0,
// C is not read.
type tileFunc[T float.DType] func(rows, kc int, ap, bp, c []T, ldc int, alpha, beta T)

// blocking is a micro-kernel with the cache blocks it works on, after Goto and van de Geijn's
// layered GEMM: a kc×nc block of op(B) is packed once and reused by every mc×kc block of op(A);
// an A block stays in L2 while each kc×nr panel of B, kept in L1, sweeps it tile by tile.
type blocking[T float.DType] struct {
	mr, nr     int // register tile of the micro-kernel
	mc, kc, nc int // largest cache blocks; mc is a multiple of mr and nc of nr
	tile       tileFunc[T]
	// tall, when set, computes a tile of 2·mr rows from two consecutive A panels (rows 1 to
	// 2·mr): macroKernel uses it for A blocks of tallFrom to 2·mr rows (see tallTiles).
	tall     tileFunc[T]
	tallFrom int
	// fullPanelA and fullPanelB, when set, pack full panels faster than packPanelA and
	// packPanelB: src is the panel's first element of op(A) or op(B) as stored, ld its stride.
	fullPanelA, fullPanelB func(panel []T, trans bool, src []T, ld, kc int)
	buffers                sync.Pool // of *packBuffers[T], reused across products
}

// macroKernel multiplies a packed mc×kc block of op(A) by columns [jrFrom, jrTo) of a packed
// kc×nc block of op(B) into the mc×nc block of C at c. Tiles that stick out of C on the right
// are computed into edge and copied.
func (bl *blocking[T]) macroKernel(mc, nc, jrFrom, jrTo, kc int, alpha T, ap, bp []T, beta T, c []T, ldc int, edge []T) {
	mr, nr := bl.mr, bl.nr
	tall := bl.tall != nil && tallTiles && mc > mr && mc >= bl.tallFrom && mc <= 2*mr
	for jr := jrFrom; jr < jrTo; jr += nr {
		cols := min(nr, nc-jr)
		bPanel := bp[jr*kc : (jr+nr)*kc]
		if tall && cols == nr {
			bl.tall(mc, kc, ap[:2*mr*kc], bPanel, c[jr:], ldc, alpha, beta)
			continue
		}
		for ir := 0; ir < mc; ir += mr {
			rows := min(mr, mc-ir)
			aPanel := ap[ir*kc : (ir+mr)*kc]
			cTile := c[ir*ldc+jr:]
			if cols == nr {
				bl.tile(rows, kc, aPanel, bPanel, cTile, ldc, alpha, beta)
				continue
			}
			bl.tile(rows, kc, aPanel, bPanel, edge, nr, alpha, 0)
			for i := range rows {
				dst := cTile[i*ldc : i*ldc+cols]
				src := edge[i*nr : i*nr+cols]
				if beta == 0 {
					copy(dst, src)
					continue
				}
				for j, v := range src {
					dst[j] = v + beta*dst[j]
				}
			}
		}
	}
}

// tallTiles selects the tall tiles of blockings that have them; SetTallKernel switches it.
var tallTiles = true

// SetTallKernel makes products whose A block has a few more rows than one tile (with AVX-512:
// 13 to 16, as a lone 32-token sequence's share of a core at batch 1) use the blocking's tall
// tile where it has one (on), or two tiles of mr rows (off), and returns the previous setting.
// A tall tile reads each line of a B panel once for all the rows rather than once per A panel,
// which matters when B streams from memory (weights larger than the caches); the bits are the
// same either way. For benchmarks that compare both within one process: call it only while no
// product runs.
func SetTallKernel(on bool) (was bool) {
	was, tallTiles = tallTiles, on
	return was
}

// packA copies the mc×kc block of op(A) at (i0, p0) into dst as panels of mr rows; each panel
// is stored column by column (mr values per column) and the last one is padded with zeros.
func (bl *blocking[T]) packA(dst []T, transA bool, a []T, lda, i0, p0, mc, kc int) {
	mr := bl.mr
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		panel := dst[ir*kc : (ir+mr)*kc]
		offset := (i0+ir)*lda + p0
		if transA {
			offset = p0*lda + i0 + ir
		}
		src := a[offset:]
		if rows == mr && bl.fullPanelA != nil {
			bl.fullPanelA(panel, transA, src, lda, kc)
			continue
		}
		packPanelA(panel, transA, src, lda, rows, kc, mr)
	}
}

// packB copies the kc×nc block of op(B) at (p0, j0) into dst as panels of nr columns; each
// panel is stored row by row (nr values per row) and the last one is padded with zeros.
func (bl *blocking[T]) packB(dst []T, transB bool, b []T, ldb, p0, j0, kc, nc int) {
	nr := bl.nr
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		panel := dst[jr*kc : (jr+nr)*kc]
		offset := p0*ldb + j0 + jr
		if transB {
			offset = (j0+jr)*ldb + p0
		}
		src := b[offset:]
		if cols == nr && bl.fullPanelB != nil {
			bl.fullPanelB(panel, transB, src, ldb, kc)
			continue
		}
		packPanelB(panel, transB, src, ldb, cols, kc, nr)
	}
}

// packPanelA copies rows ≤ mr rows and kc columns of op(A), starting at src, into an A panel,
// padding it with zeros to mr rows.
func packPanelA[T float.DType](panel []T, trans bool, src []T, ld, rows, kc, mr int) {
	if trans {
		// Column p of op(A) is row p of A: contiguous.
		for p := range kc {
			col := panel[p*mr : p*mr+mr]
			for r, v := range src[p*ld : p*ld+rows] {
				col[r] = v
			}
			clear(col[rows:])
		}
		return
	}
	for r := range rows {
		for p, v := range src[r*ld : r*ld+kc] {
			panel[p*mr+r] = v
		}
	}
	for r := rows; r < mr; r++ {
		for p := range kc {
			panel[p*mr+r] = 0
		}
	}
}

// packPanelB copies kc rows and cols ≤ nr columns of op(B), starting at src, into a B panel,
// padding it with zeros to nr columns.
func packPanelB[T float.DType](panel []T, trans bool, src []T, ld, cols, kc, nr int) {
	if trans {
		// Column j of op(B) is row j of B: contiguous.
		for j := range cols {
			for p, v := range src[j*ld : j*ld+kc] {
				panel[p*nr+j] = v
			}
		}
		for p := range kc {
			clear(panel[p*nr+cols : p*nr+nr])
		}
		return
	}
	for p := range kc {
		row := panel[p*nr : p*nr+nr]
		copy(row, src[p*ld:p*ld+cols])
		clear(row[cols:])
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, multiple int) int { return ceilDiv(a, multiple) * multiple }
