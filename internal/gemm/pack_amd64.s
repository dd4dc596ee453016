#include "textflag.h"

// Packing routines of the AVX2 float32 path: they copy full panels (6 rows of op(A), 16
// columns of op(B)) into the layouts that kernel6x16 reads. The callers check the bounds.

// func packA6N(kc int, src *float32, ld int, panel *float32)
// A not transposed: dst[6p+r] = a[r·lda+p] for r < 6, p < kc. Eight columns at a time are
// transposed in registers; the rest one by one.
TEXT ·packA6N(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8
	// SI, R9, R10: rows 0, 2, 4; add R8 for rows 1, 3, 5.
	LEAQ (SI)(R8*2), R9
	LEAQ (R9)(R8*2), R10
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   a6ntail

a6nloop8:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (R9), Y2
	VMOVUPS (R9)(R8*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VUNPCKLPS Y1, Y0, Y6   // r0 r1 of p0 p1 | p4 p5
	VUNPCKHPS Y1, Y0, Y7   // p2 p3 | p6 p7
	VUNPCKLPS Y3, Y2, Y8
	VUNPCKHPS Y3, Y2, Y9
	VUNPCKLPS Y5, Y4, Y10  // r4 r5 of p0 p1 | p4 p5
	VUNPCKHPS Y5, Y4, Y11  // p2 p3 | p6 p7
	VSHUFPS $0x44, Y8, Y6, Y0 // r0-r3 of p0 | p4
	VSHUFPS $0xEE, Y8, Y6, Y1 // p1 | p5
	VSHUFPS $0x44, Y9, Y7, Y2 // p2 | p6
	VSHUFPS $0xEE, Y9, Y7, Y3 // p3 | p7
	VMOVUPS X0, 0(DI)
	VMOVLPS X10, 16(DI)
	VMOVUPS X1, 24(DI)
	VMOVHPS X10, 40(DI)
	VMOVUPS X2, 48(DI)
	VMOVLPS X11, 64(DI)
	VMOVUPS X3, 72(DI)
	VMOVHPS X11, 88(DI)
	VEXTRACTF128 $1, Y10, X10
	VEXTRACTF128 $1, Y11, X11
	VEXTRACTF128 $1, Y0, 96(DI)
	VMOVLPS X10, 112(DI)
	VEXTRACTF128 $1, Y1, 120(DI)
	VMOVHPS X10, 136(DI)
	VEXTRACTF128 $1, Y2, 144(DI)
	VMOVLPS X11, 160(DI)
	VEXTRACTF128 $1, Y3, 168(DI)
	VMOVHPS X11, 184(DI)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $192, DI
	DECQ BX
	JNZ  a6nloop8

a6ntail:
	TESTQ CX, CX
	JZ    a6ndone

a6nloop1:
	MOVL (SI), AX
	MOVL AX, 0(DI)
	MOVL (SI)(R8*1), AX
	MOVL AX, 4(DI)
	MOVL (R9), AX
	MOVL AX, 8(DI)
	MOVL (R9)(R8*1), AX
	MOVL AX, 12(DI)
	MOVL (R10), AX
	MOVL AX, 16(DI)
	MOVL (R10)(R8*1), AX
	MOVL AX, 20(DI)
	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ $4, R10
	ADDQ $24, DI
	DECQ CX
	JNZ  a6nloop1

a6ndone:
	VZEROUPPER
	RET

// func packA6T(kc int, src *float32, ld int, panel *float32)
// A transposed (stored k×m): dst[6p+r] = a[p·lda+r] for r < 6, p < kc.
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8

a6tloop:
	VMOVUPS (SI), X0
	MOVQ    16(SI), AX
	VMOVUPS X0, (DI)
	MOVQ    AX, 16(DI)
	ADDQ    R8, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     a6tloop
	RET

// func packB16N(kc int, src *float32, ld int, panel *float32)
// B not transposed: dst[16p+j] = b[p·ldb+j] for j < 16, p < kc.
TEXT ·packB16N(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8

b16nloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     b16nloop
	VZEROUPPER
	RET

// TRANSPOSE8 transposes the 8×8 block in Y0-Y7 (row i in Yi) into Y8-Y15 (column i in Y(8+i)),
// using Y8-Y15 as scratch.
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15

// LOAD8 loads 8 floats at offset off of rows base, base+R8, ..., base+7·R8 (R9 = 3·R8,
// R10 = 5·R8, R11 = 7·R8) into Y0-Y7.
#define LOAD8(base, off) \
	VMOVUPS off(base), Y0; \
	VMOVUPS off(base)(R8*1), Y1; \
	VMOVUPS off(base)(R8*2), Y2; \
	VMOVUPS off(base)(R9*1), Y3; \
	VMOVUPS off(base)(R8*4), Y4; \
	VMOVUPS off(base)(R10*1), Y5; \
	VMOVUPS off(base)(R9*2), Y6; \
	VMOVUPS off(base)(R11*1), Y7

// STORE8 stores columns Y8-Y15 at DI+off, DI+off+64, ..., DI+off+448.
#define STORE8(off) \
	VMOVUPS Y8, off(DI); \
	VMOVUPS Y9, off+64(DI); \
	VMOVUPS Y10, off+128(DI); \
	VMOVUPS Y11, off+192(DI); \
	VMOVUPS Y12, off+256(DI); \
	VMOVUPS Y13, off+320(DI); \
	VMOVUPS Y14, off+384(DI); \
	VMOVUPS Y15, off+448(DI)

// func packB16T(kc int, src *float32, ld int, panel *float32)
// B transposed (stored n×k): dst[16p+j] = b[j·ldb+p] for j < 16, p < kc. Eight columns at a
// time go through two 8×8 register transposes (rows 0-7 and 8-15); the rest one by one.
TEXT ·packB16T(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (R8)(R8*4), R10 // 5 rows
	LEAQ (R9)(R8*4), R11 // 7 rows
	LEAQ (SI)(R8*8), DX  // row 8
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   b16ttail

b16tloop8:
	LOAD8(SI, 0)
	TRANSPOSE8
	STORE8(0)
	LOAD8(DX, 0)
	TRANSPOSE8
	STORE8(32)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $512, DI
	DECQ BX
	JNZ  b16tloop8

b16ttail:
	TESTQ CX, CX
	JZ    b16tdone

b16tloop1:
	MOVQ SI, AX
	MOVQ $0, R12

b16trow:
	MOVL (AX), R13
	MOVL R13, (DI)(R12*4)
	ADDQ R8, AX
	INCQ R12
	CMPQ R12, $16
	JNE  b16trow
	ADDQ $4, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  b16tloop1

b16tdone:
	VZEROUPPER
	RET

// The packing routines of the AVX-512 path (8-row A panels, 32-column B panels, read by
// kernel8x32); only called where the CPU has AVX-512F.

// func packA8N(kc int, src *float32, ld int, panel *float32)
// A not transposed: dst[8p+r] = a[r·lda+p] for r < 8, p < kc. Eight columns at a time go
// through an 8×8 register transpose; the rest one by one.
TEXT ·packA8N(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (R8)(R8*4), R10 // 5 rows
	LEAQ (R9)(R8*4), R11 // 7 rows
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   a8ntail

a8nloop8:
	LOAD8(SI, 0)
	TRANSPOSE8
	VMOVUPS Y8, 0(DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	VMOVUPS Y12, 128(DI)
	VMOVUPS Y13, 160(DI)
	VMOVUPS Y14, 192(DI)
	VMOVUPS Y15, 224(DI)
	ADDQ $32, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  a8nloop8

a8ntail:
	TESTQ CX, CX
	JZ    a8ndone

a8nloop1:
	MOVL (SI), AX
	MOVL AX, 0(DI)
	MOVL (SI)(R8*1), AX
	MOVL AX, 4(DI)
	MOVL (SI)(R8*2), AX
	MOVL AX, 8(DI)
	MOVL (SI)(R9*1), AX
	MOVL AX, 12(DI)
	MOVL (SI)(R8*4), AX
	MOVL AX, 16(DI)
	MOVL (SI)(R10*1), AX
	MOVL AX, 20(DI)
	MOVL (SI)(R9*2), AX
	MOVL AX, 24(DI)
	MOVL (SI)(R11*1), AX
	MOVL AX, 28(DI)
	ADDQ $4, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  a8nloop1

a8ndone:
	VZEROUPPER
	RET

// func packA8T(kc int, src *float32, ld int, panel *float32)
// A transposed (stored k×m): dst[8p+r] = a[p·lda+r] for r < 8, p < kc.
TEXT ·packA8T(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8

a8tloop:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ    R8, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     a8tloop
	VZEROUPPER
	RET

// func packB32N(kc int, src *float32, ld int, panel *float32)
// B not transposed: dst[32p+j] = b[p·ldb+j] for j < 32, p < kc.
TEXT ·packB32N(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8

b32nloop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    R8, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     b32nloop
	VZEROUPPER
	RET

// func packB32T(kc int, src *float32, ld int, panel *float32)
// B transposed (stored n×k): dst[32p+j] = b[j·ldb+p] for j < 32, p < kc. The rows go in four
// groups of eight (j = 8g … 8g+7, written at 32g bytes into each step of k); in each group,
// eight columns at a time go through an 8×8 register transpose, the rest one by one.
TEXT ·packB32T(SB), NOSPLIT, $0-32
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ panel+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (R8)(R8*4), R10 // 5 rows
	LEAQ (R9)(R8*4), R11 // 7 rows
	MOVQ $4, R13

b32tgroup:
	MOVQ kc+0(FP), CX
	MOVQ SI, DX  // this group's rows, moving along k
	MOVQ DI, R12 // this group's place in the panel, moving along k
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   b32ttail

b32tloop8:
	LOAD8(DX, 0)
	TRANSPOSE8
	VMOVUPS Y8, 0(R12)
	VMOVUPS Y9, 128(R12)
	VMOVUPS Y10, 256(R12)
	VMOVUPS Y11, 384(R12)
	VMOVUPS Y12, 512(R12)
	VMOVUPS Y13, 640(R12)
	VMOVUPS Y14, 768(R12)
	VMOVUPS Y15, 896(R12)
	ADDQ $32, DX
	ADDQ $1024, R12
	DECQ BX
	JNZ  b32tloop8

b32ttail:
	TESTQ CX, CX
	JZ    b32tnext

b32tloop1:
	MOVL (DX), AX
	MOVL AX, 0(R12)
	MOVL (DX)(R8*1), AX
	MOVL AX, 4(R12)
	MOVL (DX)(R8*2), AX
	MOVL AX, 8(R12)
	MOVL (DX)(R9*1), AX
	MOVL AX, 12(R12)
	MOVL (DX)(R8*4), AX
	MOVL AX, 16(R12)
	MOVL (DX)(R10*1), AX
	MOVL AX, 20(R12)
	MOVL (DX)(R9*2), AX
	MOVL AX, 24(R12)
	MOVL (DX)(R11*1), AX
	MOVL AX, 28(R12)
	ADDQ $4, DX
	ADDQ $128, R12
	DECQ CX
	JNZ  b32tloop1

b32tnext:
	LEAQ (SI)(R8*8), SI
	ADDQ $32, DI
	DECQ R13
	JNZ  b32tgroup
	VZEROUPPER
	RET
