#include "textflag.h"

// kernel16x16 computes the first rows rows (1 to 16) of a 16-row, 16-column tile,
// C ← alpha·Ap·Bp + beta·C, for products of at most 16 rows whose B streams from memory:
// each 64-byte line of B it loads serves 16 rows, where kernel8x32 reads each line once per
// 8-row A panel. Ap is two consecutive 8-row A panels (rows 0-7, then rows 8-15 at 32·kc
// bytes further; 32 bytes per step of k each), Bp one 16-column half of a 32-column B panel
// (64 bytes per step of k, steps 128 bytes apart). Row r accumulates in Z(4+r), one FMA per
// step of k in k's order, with A broadcast from memory; then it is scaled by alpha and added
// to beta·C by one FMA, as in kernel8x32, so that both give the same bits. C is not read when
// beta is ±0.
//
// The unrolled loop asks for the other half's line of each step into L2 (PREFETCHT1), where the
// call for that half finds it: reading every other line of B only, the hardware prefetchers
// kept up less well when the memory was busy (cold weights on both cores: 0.85-1.1 of the
// 8-row tiles' time, against 0.82-0.87 with it; PREFETCHT0, into L1, was 1.1-1.16, perhaps
// as the lines then crowd the A panels out of L1; prefetching further ahead gained nothing).

// FMA16 multiplies the B values in Z0 by the A value of one row at mem into acc.
#define FMA16(mem, acc) VFMADD231PS.BCST mem, Z0, acc

// STEP16 is one step of k for 16 rows: B at DI+boff, A at SI+aoff and SI+R10+aoff.
#define STEP16(aoff, boff) \
	VMOVUPS boff(DI), Z0; \
	FMA16(aoff(SI), Z4); \
	FMA16(aoff+4(SI), Z5); \
	FMA16(aoff+8(SI), Z6); \
	FMA16(aoff+12(SI), Z7); \
	FMA16(aoff+16(SI), Z8); \
	FMA16(aoff+20(SI), Z9); \
	FMA16(aoff+24(SI), Z10); \
	FMA16(aoff+28(SI), Z11); \
	FMA16(aoff(SI)(R10*1), Z12); \
	FMA16(aoff+4(SI)(R10*1), Z13); \
	FMA16(aoff+8(SI)(R10*1), Z14); \
	FMA16(aoff+12(SI)(R10*1), Z15); \
	FMA16(aoff+16(SI)(R10*1), Z16); \
	FMA16(aoff+20(SI)(R10*1), Z17); \
	FMA16(aoff+24(SI)(R10*1), Z18); \
	FMA16(aoff+28(SI)(R10*1), Z19)

#define ZERO16(r) VPXORD r, r, r

// PREFETCH16 asks for the cache lines of a 64-byte row of C (at AX) and moves AX on.
#define PREFETCH16 \
	PREFETCHT0 (AX); \
	PREFETCHT0 60(AX); \
	ADDQ R8, AX

// STORE16 stores row acc to C at DX, moves DX to the next row and jumps to done after the
// last of the R9 rows; UPDATE16 first adds beta·C (beta in Z1).
#define STORE16(acc, done) \
	VMOVUPS acc, (DX); \
	ADDQ R8, DX; \
	DECQ R9; \
	JZ done

#define UPDATE16(acc, done) \
	VFMADD231PS (DX), Z1, acc; \
	STORE16(acc, done)

// func kernel16x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
TEXT ·kernel16x16(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), BX
	MOVQ ap+8(FP), SI
	MOVQ bp+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ rows+48(FP), R9
	MOVQ BX, R10
	SHLQ $5, R10 // the second A panel: 8 values of 4 bytes per step of k further
	MOVQ BX, CX
	SHRQ $2, CX
	ANDQ $3, BX
	MOVQ DX, AX
	PREFETCH16; PREFETCH16; PREFETCH16; PREFETCH16
	PREFETCH16; PREFETCH16; PREFETCH16; PREFETCH16
	PREFETCH16; PREFETCH16; PREFETCH16; PREFETCH16
	PREFETCH16; PREFETCH16; PREFETCH16; PREFETCH16
	ZERO16(Z4); ZERO16(Z5); ZERO16(Z6); ZERO16(Z7); ZERO16(Z8); ZERO16(Z9); ZERO16(Z10); ZERO16(Z11)
	ZERO16(Z12); ZERO16(Z13); ZERO16(Z14); ZERO16(Z15); ZERO16(Z16); ZERO16(Z17); ZERO16(Z18); ZERO16(Z19)
	TESTQ CX, CX
	JZ    t16tail

t16loop4:
	PREFETCHT1 64(DI)
	STEP16(0, 0)
	PREFETCHT1 192(DI)
	STEP16(32, 128)
	PREFETCHT1 320(DI)
	STEP16(64, 256)
	PREFETCHT1 448(DI)
	STEP16(96, 384)
	ADDQ $128, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  t16loop4

t16tail:
	TESTQ BX, BX
	JZ    t16scale

t16loop1:
	STEP16(0, 0)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  t16loop1

t16scale:
	VBROADCASTSS alpha+40(FP), Z0
	VMULPS Z0, Z4, Z4; VMULPS Z0, Z5, Z5; VMULPS Z0, Z6, Z6; VMULPS Z0, Z7, Z7
	VMULPS Z0, Z8, Z8; VMULPS Z0, Z9, Z9; VMULPS Z0, Z10, Z10; VMULPS Z0, Z11, Z11
	VMULPS Z0, Z12, Z12; VMULPS Z0, Z13, Z13; VMULPS Z0, Z14, Z14; VMULPS Z0, Z15, Z15
	VMULPS Z0, Z16, Z16; VMULPS Z0, Z17, Z17; VMULPS Z0, Z18, Z18; VMULPS Z0, Z19, Z19
	VBROADCASTSS beta+44(FP), Z1
	MOVL beta+44(FP), AX
	ANDL $0x7fffffff, AX // ±0: overwrite C without reading it
	JZ   t16overwrite
	UPDATE16(Z4, t16done); UPDATE16(Z5, t16done); UPDATE16(Z6, t16done); UPDATE16(Z7, t16done)
	UPDATE16(Z8, t16done); UPDATE16(Z9, t16done); UPDATE16(Z10, t16done); UPDATE16(Z11, t16done)
	UPDATE16(Z12, t16done); UPDATE16(Z13, t16done); UPDATE16(Z14, t16done); UPDATE16(Z15, t16done)
	UPDATE16(Z16, t16done); UPDATE16(Z17, t16done); UPDATE16(Z18, t16done); UPDATE16(Z19, t16done)
	JMP t16done

t16overwrite:
	STORE16(Z4, t16done); STORE16(Z5, t16done); STORE16(Z6, t16done); STORE16(Z7, t16done)
	STORE16(Z8, t16done); STORE16(Z9, t16done); STORE16(Z10, t16done); STORE16(Z11, t16done)
	STORE16(Z12, t16done); STORE16(Z13, t16done); STORE16(Z14, t16done); STORE16(Z15, t16done)
	STORE16(Z16, t16done); STORE16(Z17, t16done); STORE16(Z18, t16done); STORE16(Z19, t16done)

t16done:
	VZEROUPPER
	RET
