#include "textflag.h"

// Micro-kernels of the AVX2/FMA float32 path. Each computes the first rows rows of a tile
// C ← alpha·Ap·Bp + beta·C, where Ap is an A panel of 6 rows (24 bytes per step of k) and Bp
// a B panel of 16 columns (64 bytes per step of k); rows of C are ldc elements apart. Row r
// accumulates in Y(4+2r) (columns 0-7) and Y(5+2r) (columns 8-15). C is not read when beta
// is ±0. The 6-row kernel keeps twelve accumulators, enough to hide the FMA latency; the 4-row
// one serves the last 1 to 4 rows of a product whose m is not a multiple of 6. Every element is
// summed in k's order in one accumulator, by either kernel, so a row's results do not depend on
// which tile computes it (on how many rows share its product).

// ROW multiplies the broadcast A value in areg by the B values in Y0, Y1 into row r's
// accumulators lo, hi.
#define ROW(areg, lo, hi) \
	VFMADD231PS Y0, areg, lo; \
	VFMADD231PS Y1, areg, hi

// LOADB loads the 16 B values of one step of k at DI+boff into Y0, Y1.
#define LOADB(boff) \
	VMOVUPS boff(DI), Y0; \
	VMOVUPS boff+32(DI), Y1

// STEP6 is one step of k for 6 rows, STEP4 for 4 rows.
#define STEP6(aoff, boff) \
	LOADB(boff); \
	VBROADCASTSS aoff(SI), Y2; \
	VBROADCASTSS aoff+4(SI), Y3; \
	ROW(Y2, Y4, Y5); \
	ROW(Y3, Y6, Y7); \
	VBROADCASTSS aoff+8(SI), Y2; \
	VBROADCASTSS aoff+12(SI), Y3; \
	ROW(Y2, Y8, Y9); \
	ROW(Y3, Y10, Y11); \
	VBROADCASTSS aoff+16(SI), Y2; \
	VBROADCASTSS aoff+20(SI), Y3; \
	ROW(Y2, Y12, Y13); \
	ROW(Y3, Y14, Y15)

#define STEP4(aoff, boff) \
	LOADB(boff); \
	VBROADCASTSS aoff(SI), Y2; \
	VBROADCASTSS aoff+4(SI), Y3; \
	ROW(Y2, Y4, Y5); \
	ROW(Y3, Y6, Y7); \
	VBROADCASTSS aoff+8(SI), Y2; \
	VBROADCASTSS aoff+12(SI), Y3; \
	ROW(Y2, Y8, Y9); \
	ROW(Y3, Y10, Y11)

// PROLOGUE loads the arguments: CX = kc/4 unrolled iterations, BX = kc%4 single steps, SI = ap,
// DI = bp, DX = c, R8 = ldc in bytes, R9 = rows.
#define PROLOGUE \
	MOVQ kc+0(FP), BX; \
	MOVQ ap+8(FP), SI; \
	MOVQ bp+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ ldc+32(FP), R8; \
	SHLQ $2, R8; \
	MOVQ rows+48(FP), R9; \
	MOVQ BX, CX; \
	SHRQ $2, CX; \
	ANDQ $3, BX

#define ZERO(r) VXORPS r, r, r

// PREFETCHROW asks for the cache lines of a row of C (at AX), read or written at the end,
// while the kernel computes, and moves AX to the next row.
#define PREFETCHROW \
	PREFETCHT0 (AX); \
	PREFETCHT0 60(AX); \
	ADDQ R8, AX

// SCALE multiplies both accumulators of a row by alpha (in Y0).
#define SCALE(lo, hi) \
	VMULPS Y0, lo, lo; \
	VMULPS Y0, hi, hi

// UPDATE stores row lo, hi + beta·C (beta in Y1) to C at DX, moves DX to the next row and
// jumps to done after the last of the R9 rows.
#define UPDATE(lo, hi, done) \
	VFMADD231PS (DX), Y1, lo; \
	VFMADD231PS 32(DX), Y1, hi; \
	STORE(lo, hi, done)

// STORE stores row lo, hi to C at DX, moves DX to the next row and jumps to done after the
// last of the R9 rows.
#define STORE(lo, hi, done) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX; \
	DECQ R9; \
	JZ done

// BETA sets Y1 to beta and jumps to overwrite if beta is ±0 (sign bit masked off).
#define BETA(overwrite) \
	VBROADCASTSS beta+44(FP), Y1; \
	MOVL beta+44(FP), AX; \
	ANDL $0x7fffffff, AX; \
	JZ overwrite

// func kernel6x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
TEXT ·kernel6x16(SB), NOSPLIT, $0-56
	PROLOGUE
	MOVQ DX, AX
	PREFETCHROW; PREFETCHROW; PREFETCHROW; PREFETCHROW; PREFETCHROW; PREFETCHROW
	ZERO(Y4); ZERO(Y5); ZERO(Y6); ZERO(Y7); ZERO(Y8); ZERO(Y9)
	ZERO(Y10); ZERO(Y11); ZERO(Y12); ZERO(Y13); ZERO(Y14); ZERO(Y15)
	TESTQ CX, CX
	JZ    k6tail

k6loop4:
	STEP6(0, 0)
	STEP6(24, 64)
	STEP6(48, 128)
	STEP6(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  k6loop4

k6tail:
	TESTQ BX, BX
	JZ    k6scale

k6loop1:
	STEP6(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ BX
	JNZ  k6loop1

k6scale:
	VBROADCASTSS alpha+40(FP), Y0
	SCALE(Y4, Y5); SCALE(Y6, Y7); SCALE(Y8, Y9); SCALE(Y10, Y11); SCALE(Y12, Y13); SCALE(Y14, Y15)
	BETA(k6overwrite)
	UPDATE(Y4, Y5, k6done)
	UPDATE(Y6, Y7, k6done)
	UPDATE(Y8, Y9, k6done)
	UPDATE(Y10, Y11, k6done)
	UPDATE(Y12, Y13, k6done)
	UPDATE(Y14, Y15, k6done)
	JMP k6done

k6overwrite:
	STORE(Y4, Y5, k6done)
	STORE(Y6, Y7, k6done)
	STORE(Y8, Y9, k6done)
	STORE(Y10, Y11, k6done)
	STORE(Y12, Y13, k6done)
	STORE(Y14, Y15, k6done)

k6done:
	VZEROUPPER
	RET

// func kernel4x16(kc int, ap, bp, c *float32, ldc int, alpha, beta float32, rows int)
TEXT ·kernel4x16(SB), NOSPLIT, $0-56
	PROLOGUE
	MOVQ DX, AX
	PREFETCHROW; PREFETCHROW; PREFETCHROW; PREFETCHROW
	ZERO(Y4); ZERO(Y5); ZERO(Y6); ZERO(Y7); ZERO(Y8); ZERO(Y9); ZERO(Y10); ZERO(Y11)
	TESTQ CX, CX
	JZ    k4tail

k4loop4:
	STEP4(0, 0)
	STEP4(24, 64)
	STEP4(48, 128)
	STEP4(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  k4loop4

k4tail:
	TESTQ BX, BX
	JZ    k4scale

k4loop1:
	STEP4(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ BX
	JNZ  k4loop1

k4scale:
	VBROADCASTSS alpha+40(FP), Y0
	SCALE(Y4, Y5); SCALE(Y6, Y7); SCALE(Y8, Y9); SCALE(Y10, Y11)
	BETA(k4overwrite)
	UPDATE(Y4, Y5, k4done)
	UPDATE(Y6, Y7, k4done)
	UPDATE(Y8, Y9, k4done)
	UPDATE(Y10, Y11, k4done)
	JMP k4done

k4overwrite:
	STORE(Y4, Y5, k4done)
	STORE(Y6, Y7, k4done)
	STORE(Y8, Y9, k4done)
	STORE(Y10, Y11, k4done)

k4done:
	VZEROUPPER
	RET

