#include "textflag.h"

// Micro-kernels of the AVX-512 float32 path. Each computes the first rows rows of a tile
// C ← alpha·Ap·Bp + beta·C, where Ap is an A panel of 8 rows (32 bytes per step of k) and Bp
// a B panel of 32 columns (128 bytes per step of k); rows of C are ldc elements apart. Row r
// accumulates in Z(4+2r) (columns 0-15) and Z(5+2r) (columns 16-31), one FMA per step of k
// in k's order, then is scaled by alpha and added to beta·C by one FMA: the same operations,
// in the same order, as the AVX2 kernels, so both give the same bits. C is not read when beta
// is ±0. kernel8x32 keeps sixteen accumulators; kernel4x32 serves products of at most 4 rows
// (a pooler's or a classifier's, one row per sequence).

// ROWZ multiplies the broadcast A value in areg by the B values in Z0, Z1 into row r's
// accumulators lo, hi.
#define ROWZ(areg, lo, hi) \
	VFMADD231PS Z0, areg, lo; \
	VFMADD231PS Z1, areg, hi

// LOADBZ loads the 32 B values of one step of k at DI+boff into Z0, Z1.
#define LOADBZ(boff) \
	VMOVUPS boff(DI), Z0; \
	VMOVUPS boff+64(DI), Z1

// STEP8Z is one step of k for 8 rows, STEP4Z for 4 rows (of an 8-row panel).
#define STEP4Z(aoff, boff) \
	LOADBZ(boff); \
	VBROADCASTSS aoff(SI), Z20; \
	VBROADCASTSS aoff+4(SI), Z21; \
	VBROADCASTSS aoff+8(SI), Z22; \
	VBROADCASTSS aoff+12(SI), Z23; \
	ROWZ(Z20, Z4, Z5); \
	ROWZ(Z21, Z6, Z7); \
	ROWZ(Z22, Z8, Z9); \
	ROWZ(Z23, Z10, Z11)

#define STEP8Z(aoff, boff) \
	STEP4Z(aoff, boff); \
	VBROADCASTSS aoff+16(SI), Z24; \
	VBROADCASTSS aoff+20(SI), Z25; \
	VBROADCASTSS aoff+24(SI), Z26; \
	VBROADCASTSS aoff+28(SI), Z27; \
	ROWZ(Z24, Z12, Z13); \
	ROWZ(Z25, Z14, Z15); \
	ROWZ(Z26, Z16, Z17); \
	ROWZ(Z27, Z18, Z19)

// PROLOGUEZ loads the arguments: CX = kc/4 unrolled iterations, BX = kc%4 single steps,
// SI = ap, DI = bp, DX = c, R8 = ldc in bytes, R9 = rows, AX = c (for PREFETCHROWZ).
#define PROLOGUEZ \
	MOVQ kc+0(FP), BX; \
	MOVQ ap+8(FP), SI; \
	MOVQ bp+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ ldc+32(FP), R8; \
	SHLQ $2, R8; \
	MOVQ rows+48(FP), R9; \
	MOVQ BX, CX; \
	SHRQ $2, CX; \
	ANDQ $3, BX; \
	MOVQ DX, AX

#define ZEROZ(r) VPXORD r, r, r

// PREFETCHROWZ asks for the cache lines of a row of C (at AX), read or written at the end,
// while the kernel computes, and moves AX to the next row.
#define PREFETCHROWZ \
	PREFETCHT0 (AX); \
	PREFETCHT0 64(AX); \
	PREFETCHT0 124(AX); \
	ADDQ R8, AX

// SCALEZ multiplies both accumulators of a row by alpha (in Z0).
#define SCALEZ(lo, hi) \
	VMULPS Z0, lo, lo; \
	VMULPS Z0, hi, hi

// STOREZ stores row lo, hi to C at DX, moves DX to the next row and jumps to done after the
// last of the R9 rows.
#define STOREZ(lo, hi, done) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 64(DX); \
	ADDQ R8, DX; \
	DECQ R9; \
	JZ done

// UPDATEZ stores row lo, hi + beta·C (beta in Z1) as STOREZ.
#define UPDATEZ(lo, hi, done) \
	VFMADD231PS (DX), Z1, lo; \
	VFMADD231PS 64(DX), Z1, hi; \
	STOREZ(lo, hi, done)

// BETAZ sets Z1 to beta and jumps to overwrite if beta is ±0 (sign bit masked off).
#define BETAZ(overwrite) \
	VBROADCASTSS beta+44(FP), Z1; \
	MOVL beta+44(FP), AX; \
	ANDL $0x7fffffff, AX; \
	JZ overwrite

// func kernel8x32(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
TEXT ·kernel8x32(SB), NOSPLIT, $0-56
	PROLOGUEZ
	PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ
	PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ
	ZEROZ(Z4); ZEROZ(Z5); ZEROZ(Z6); ZEROZ(Z7); ZEROZ(Z8); ZEROZ(Z9); ZEROZ(Z10); ZEROZ(Z11)
	ZEROZ(Z12); ZEROZ(Z13); ZEROZ(Z14); ZEROZ(Z15); ZEROZ(Z16); ZEROZ(Z17); ZEROZ(Z18); ZEROZ(Z19)
	TESTQ CX, CX
	JZ    z8tail

z8loop4:
	STEP8Z(0, 0)
	STEP8Z(32, 128)
	STEP8Z(64, 256)
	STEP8Z(96, 384)
	ADDQ $128, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  z8loop4

z8tail:
	TESTQ BX, BX
	JZ    z8scale

z8loop1:
	STEP8Z(0, 0)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  z8loop1

z8scale:
	VBROADCASTSS alpha+40(FP), Z0
	SCALEZ(Z4, Z5); SCALEZ(Z6, Z7); SCALEZ(Z8, Z9); SCALEZ(Z10, Z11)
	SCALEZ(Z12, Z13); SCALEZ(Z14, Z15); SCALEZ(Z16, Z17); SCALEZ(Z18, Z19)
	BETAZ(z8overwrite)
	UPDATEZ(Z4, Z5, z8done)
	UPDATEZ(Z6, Z7, z8done)
	UPDATEZ(Z8, Z9, z8done)
	UPDATEZ(Z10, Z11, z8done)
	UPDATEZ(Z12, Z13, z8done)
	UPDATEZ(Z14, Z15, z8done)
	UPDATEZ(Z16, Z17, z8done)
	UPDATEZ(Z18, Z19, z8done)
	JMP z8done

z8overwrite:
	STOREZ(Z4, Z5, z8done)
	STOREZ(Z6, Z7, z8done)
	STOREZ(Z8, Z9, z8done)
	STOREZ(Z10, Z11, z8done)
	STOREZ(Z12, Z13, z8done)
	STOREZ(Z14, Z15, z8done)
	STOREZ(Z16, Z17, z8done)
	STOREZ(Z18, Z19, z8done)

z8done:
	VZEROUPPER
	RET

// func kernel4x32(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
TEXT ·kernel4x32(SB), NOSPLIT, $0-56
	PROLOGUEZ
	PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ; PREFETCHROWZ
	ZEROZ(Z4); ZEROZ(Z5); ZEROZ(Z6); ZEROZ(Z7); ZEROZ(Z8); ZEROZ(Z9); ZEROZ(Z10); ZEROZ(Z11)
	TESTQ CX, CX
	JZ    z4tail

z4loop4:
	STEP4Z(0, 0)
	STEP4Z(32, 128)
	STEP4Z(64, 256)
	STEP4Z(96, 384)
	ADDQ $128, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  z4loop4

z4tail:
	TESTQ BX, BX
	JZ    z4scale

z4loop1:
	STEP4Z(0, 0)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  z4loop1

z4scale:
	VBROADCASTSS alpha+40(FP), Z0
	SCALEZ(Z4, Z5); SCALEZ(Z6, Z7); SCALEZ(Z8, Z9); SCALEZ(Z10, Z11)
	BETAZ(z4overwrite)
	UPDATEZ(Z4, Z5, z4done)
	UPDATEZ(Z6, Z7, z4done)
	UPDATEZ(Z8, Z9, z4done)
	UPDATEZ(Z10, Z11, z4done)
	JMP z4done

z4overwrite:
	STOREZ(Z4, Z5, z4done)
	STOREZ(Z6, Z7, z4done)
	STOREZ(Z8, Z9, z4done)
	STOREZ(Z10, Z11, z4done)

z4done:
	VZEROUPPER
	RET
