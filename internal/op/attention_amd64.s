#include "textflag.h"

// AVX-512F kernels of the short-sequence attention path (attention_short.go), sixteen float32
// values per register. Every result element is computed by the same sequence of operations
// whatever block of rows it is computed with (the four-row and the one-row loops below run the
// same chain per element), so a query row's output never depends on its neighbours.

#define F32(name, bits) \
	DATA name<>+0(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $4

F32(one, 0x3f800000)
F32(negInf, 0xff800000)
F32(expFloor, 0xc2ae0000)       // −87: the smallest argument of EXP (2⁻¹²⁶ ≈ exp(−87.3))
F32(log2e, 0x3fb8aa3b)          // log₂ e
F32(ln2Hi, 0x3f318000)          // 0.693359375, ln 2 split as Cephes does
F32(ln2Lo, 0xb95e8083)          // −2.12194440e−4
F32(exp0, 0x39506967)           // Cephes expf's polynomial, highest first, as vector_amd64.s
F32(exp1, 0x3ab743ce)
F32(exp2, 0x3c088908)
F32(exp3, 0x3d2aa9c1)
F32(exp4, 0x3e2aaaaa)
F32(exp5, 0x3f000000)

// func mulShortAVX512(m, n, k int, a *float32, lda, stepA int, b *float32, ldb int, c *float32, ldc int, alpha float32)
// c[i][j] = alpha·Σ_p a[i·lda + p·stepA]·b[p][j] for i < m, j < n (a multiple of 32): a is read
// element by element, so stepA = 1 multiplies by a and lda = 1 by its transpose. The sum is a
// chain of fused multiply-adds in the order of p. Rows go four at a time (eight accumulators of
// 16 columns), the last m mod 4 one at a time.
TEXT ·mulShortAVX512(SB), NOSPLIT, $0-84
	MOVQ m+0(FP), DI
	MOVQ n+8(FP), R8
	SHLQ $2, R8                     // row width in bytes
	MOVQ a+24(FP), SI
	MOVQ lda+32(FP), R10
	SHLQ $2, R10
	MOVQ stepA+40(FP), AX
	SHLQ $2, AX
	MOVQ b+48(FP), DX
	MOVQ ldb+56(FP), R9
	SHLQ $2, R9
	MOVQ c+64(FP), BX
	MOVQ ldc+72(FP), R14
	SHLQ $2, R14
	VBROADCASTSS alpha+80(FP), Z31

rows4:
	CMPQ DI, $4
	JLT  rows1
	XORQ R11, R11                   // column offset in bytes

cols4:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LEAQ (DX)(R11*1), R12           // b[0][column]
	MOVQ SI, R13                    // a's rows 0 and 1 at p
	LEAQ (SI)(R10*2), R15           // a's rows 2 and 3 at p
	MOVQ k+16(FP), CX

k4:
	VMOVUPS (R12), Z8
	VMOVUPS 64(R12), Z9
	VBROADCASTSS (R13), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z1
	VBROADCASTSS (R13)(R10*1), Z11
	VFMADD231PS Z11, Z8, Z2
	VFMADD231PS Z11, Z9, Z3
	VBROADCASTSS (R15), Z12
	VFMADD231PS Z12, Z8, Z4
	VFMADD231PS Z12, Z9, Z5
	VBROADCASTSS (R15)(R10*1), Z13
	VFMADD231PS Z13, Z8, Z6
	VFMADD231PS Z13, Z9, Z7
	ADDQ AX, R13
	ADDQ AX, R15
	ADDQ R9, R12
	DECQ CX
	JNZ  k4

	LEAQ (BX)(R11*1), R13
	VMULPS Z31, Z0, Z0
	VMULPS Z31, Z1, Z1
	VMULPS Z31, Z2, Z2
	VMULPS Z31, Z3, Z3
	VMULPS Z31, Z4, Z4
	VMULPS Z31, Z5, Z5
	VMULPS Z31, Z6, Z6
	VMULPS Z31, Z7, Z7
	VMOVUPS Z0, (R13)
	VMOVUPS Z1, 64(R13)
	VMOVUPS Z2, (R13)(R14*1)
	VMOVUPS Z3, 64(R13)(R14*1)
	LEAQ (R13)(R14*2), R13
	VMOVUPS Z4, (R13)
	VMOVUPS Z5, 64(R13)
	VMOVUPS Z6, (R13)(R14*1)
	VMOVUPS Z7, 64(R13)(R14*1)
	ADDQ $128, R11
	CMPQ R11, R8
	JLT  cols4

	LEAQ (SI)(R10*4), SI
	LEAQ (BX)(R14*4), BX
	SUBQ $4, DI
	JMP  rows4

rows1:
	TESTQ DI, DI
	JZ   mulDone
	XORQ R11, R11

cols1:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	LEAQ (DX)(R11*1), R12
	MOVQ SI, R13
	MOVQ k+16(FP), CX

k1:
	VMOVUPS (R12), Z8
	VMOVUPS 64(R12), Z9
	VBROADCASTSS (R13), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z1
	ADDQ AX, R13
	ADDQ R9, R12
	DECQ CX
	JNZ  k1

	VMULPS Z31, Z0, Z0
	VMULPS Z31, Z1, Z1
	VMOVUPS Z0, (BX)(R11*1)
	VMOVUPS Z1, 64(BX)(R11*1)
	ADDQ $128, R11
	CMPQ R11, R8
	JLT  cols1

	ADDQ R10, SI
	ADDQ R14, BX
	DECQ DI
	JMP  rows1

mulDone:
	VZEROUPPER
	RET

// func transposeShortAVX512(l, dh int, k *float32, ldk int, kt *float32, lp int)
// kt[c][j] = k[j][c] for c < dh (a multiple of 16) and j < l; for l ≤ j < lp (lp a multiple of
// 16) kt[c][j] is a copy of some key's value, which the scores past l carry and the softmax
// never reads. Blocks of 16 keys by 16 columns are loaded as rows (the rows past l repeat row
// l − 1, so nothing past k's block is read), transposed in registers (unpacks of pairs, then of
// quadruples, then two shuffles of 128-bit lanes) and stored as columns.
TEXT ·transposeShortAVX512(SB), NOSPLIT, $0-48
	MOVQ l+0(FP), AX
	MOVQ dh+8(FP), R14
	SHLQ $2, R14                    // columns in bytes
	MOVQ k+16(FP), SI               // row j0 of k
	MOVQ ldk+24(FP), R8
	SHLQ $2, R8
	MOVQ kt+32(FP), DI
	MOVQ lp+40(FP), R9
	SHLQ $2, R9                     // a row of kt in bytes
	MOVQ R9, DX
	SHLQ $4, DX                     // sixteen rows of kt
	XORQ BX, BX                     // j0, the block's first key

tBlock:
	XORQ R12, R12                   // the block's first column in bytes
	LEAQ (DI)(BX*4), R15            // kt[0][j0]

tCols:
	MOVQ AX, CX
	SUBQ BX, CX                     // keys of k left from j0
	MOVQ SI, R11
	CMPQ CX, $0
	JGT  tLoad
	MOVQ CX, R13                    // no key left: row l − 1 = j0 − (1 − CX), for all 16
	NEGQ R13
	INCQ R13
	IMULQ R8, R13
	SUBQ R13, R11
	MOVQ $1, CX

tLoad:
	VMOVUPS (R11)(R12*1), Z0
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $1
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z1
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $2
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z2
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $3
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z3
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $4
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z4
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $5
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z5
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $6
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z6
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $7
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z7
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $8
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z8
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $9
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z9
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $10
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z10
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $11
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z11
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $12
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z12
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $13
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z13
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $14
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z14
	LEAQ (R11)(R8*1), R13
	CMPQ CX, $15
	CMOVQGT R13, R11
	VMOVUPS (R11)(R12*1), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x44, Z4, Z0, Z16
	VSHUFF32X4 $0xee, Z4, Z0, Z17
	VSHUFF32X4 $0x44, Z12, Z8, Z18
	VSHUFF32X4 $0xee, Z12, Z8, Z19
	VSHUFF32X4 $0x88, Z18, Z16, Z0
	VSHUFF32X4 $0xdd, Z18, Z16, Z4
	VSHUFF32X4 $0x88, Z19, Z17, Z8
	VSHUFF32X4 $0xdd, Z19, Z17, Z12
	VSHUFF32X4 $0x44, Z5, Z1, Z20
	VSHUFF32X4 $0xee, Z5, Z1, Z21
	VSHUFF32X4 $0x44, Z13, Z9, Z22
	VSHUFF32X4 $0xee, Z13, Z9, Z23
	VSHUFF32X4 $0x88, Z22, Z20, Z1
	VSHUFF32X4 $0xdd, Z22, Z20, Z5
	VSHUFF32X4 $0x88, Z23, Z21, Z9
	VSHUFF32X4 $0xdd, Z23, Z21, Z13
	VSHUFF32X4 $0x44, Z6, Z2, Z24
	VSHUFF32X4 $0xee, Z6, Z2, Z25
	VSHUFF32X4 $0x44, Z14, Z10, Z26
	VSHUFF32X4 $0xee, Z14, Z10, Z27
	VSHUFF32X4 $0x88, Z26, Z24, Z2
	VSHUFF32X4 $0xdd, Z26, Z24, Z6
	VSHUFF32X4 $0x88, Z27, Z25, Z10
	VSHUFF32X4 $0xdd, Z27, Z25, Z14
	VSHUFF32X4 $0x44, Z7, Z3, Z28
	VSHUFF32X4 $0xee, Z7, Z3, Z29
	VSHUFF32X4 $0x44, Z15, Z11, Z30
	VSHUFF32X4 $0xee, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z30, Z28, Z3
	VSHUFF32X4 $0xdd, Z30, Z28, Z7
	VSHUFF32X4 $0x88, Z31, Z29, Z11
	VSHUFF32X4 $0xdd, Z31, Z29, Z15
	MOVQ R15, R10
	VMOVUPS Z0, (R10)
	ADDQ R9, R10
	VMOVUPS Z1, (R10)
	ADDQ R9, R10
	VMOVUPS Z2, (R10)
	ADDQ R9, R10
	VMOVUPS Z3, (R10)
	ADDQ R9, R10
	VMOVUPS Z4, (R10)
	ADDQ R9, R10
	VMOVUPS Z5, (R10)
	ADDQ R9, R10
	VMOVUPS Z6, (R10)
	ADDQ R9, R10
	VMOVUPS Z7, (R10)
	ADDQ R9, R10
	VMOVUPS Z8, (R10)
	ADDQ R9, R10
	VMOVUPS Z9, (R10)
	ADDQ R9, R10
	VMOVUPS Z10, (R10)
	ADDQ R9, R10
	VMOVUPS Z11, (R10)
	ADDQ R9, R10
	VMOVUPS Z12, (R10)
	ADDQ R9, R10
	VMOVUPS Z13, (R10)
	ADDQ R9, R10
	VMOVUPS Z14, (R10)
	ADDQ R9, R10
	VMOVUPS Z15, (R10)
	ADDQ DX, R15
	ADDQ $64, R12
	CMPQ R12, R14
	JLT  tCols

	MOVQ R8, R13
	SHLQ $4, R13
	ADDQ R13, SI
	ADDQ $16, BX
	CMPQ BX, lp+40(FP)
	JLT  tBlock
	VZEROUPPER
	RET

// EXPZ sets Z4 to exp(Z3) for the lanes of K2 where Z3 ≥ −87 or is NaN, and to 0 elsewhere, as
// vector_amd64.s's EXP (Cephes expf) with the constants held in Z16–Z26. It overwrites Z3, Z5,
// Z6 and K2 (which it narrows to the lanes kept).
#define EXPZ \
	VCMPPS $0x15, Z26, Z3, K2, K2; \
	VMAXPS Z3, Z26, Z3; \
	VMULPS Z16, Z3, Z5; \
	VRNDSCALEPS $0, Z5, Z5; \
	VFNMADD231PS Z17, Z5, Z3; \
	VFNMADD231PS Z18, Z5, Z3; \
	VMULPS Z3, Z3, Z6; \
	VMOVAPS Z19, Z4; \
	VFMADD213PS Z20, Z3, Z4; \
	VFMADD213PS Z21, Z3, Z4; \
	VFMADD213PS Z22, Z3, Z4; \
	VFMADD213PS Z23, Z3, Z4; \
	VFMADD213PS Z24, Z3, Z4; \
	VFMADD213PS Z3, Z6, Z4; \
	VADDPS Z25, Z4, Z4; \
	VCVTPS2DQ Z5, Z5; \
	VPSLLD $23, Z5, Z5; \
	VPADDD Z25, Z5, Z5; \
	VMULPS Z5, Z4, Z4; \
	VMOVAPS.Z Z4, K2, Z4

// HREDUCE folds the sixteen lanes of Z reg (Y reg, X reg its lower halves) with op into every
// lane of X reg's low element, in a fixed order; it overwrites Y tmpY (X tmpX).
#define HREDUCE(op, reg, yreg, xreg, tmpY, tmpX) \
	VEXTRACTF64X4 $1, reg, tmpY; \
	op tmpY, yreg, yreg; \
	VEXTRACTF128 $1, yreg, tmpX; \
	op tmpX, xreg, xreg; \
	VPERMILPS $0x4e, xreg, tmpX; \
	op tmpX, xreg, xreg; \
	VPERMILPS $0xb1, xreg, tmpX; \
	op tmpX, xreg, xreg

// func softmaxRowsAVX512(m, l int, s *float32, lds int, p *float32, ldp int)
// p[i][:l] = exp(s[i][:l] − max)/Σ exp(s[i][:l] − max) for i < m: the maximum and the sum folded
// lane by lane and then across the lanes in a fixed order, 1/Σ multiplied in, as softmax does.
TEXT ·softmaxRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ m+0(FP), R14
	MOVQ l+8(FP), AX
	MOVQ s+16(FP), SI
	MOVQ lds+24(FP), R8
	SHLQ $2, R8
	MOVQ p+32(FP), DI
	MOVQ ldp+40(FP), R9
	SHLQ $2, R9
	MOVQ AX, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1                    // the lanes of the last, partial vector (none if l mod 16 = 0)
	MOVQ AX, DX
	SHRQ $4, DX                     // full vectors
	VBROADCASTSS log2e<>(SB), Z16
	VBROADCASTSS ln2Hi<>(SB), Z17
	VBROADCASTSS ln2Lo<>(SB), Z18
	VBROADCASTSS exp0<>(SB), Z19
	VBROADCASTSS exp1<>(SB), Z20
	VBROADCASTSS exp2<>(SB), Z21
	VBROADCASTSS exp3<>(SB), Z22
	VBROADCASTSS exp4<>(SB), Z23
	VBROADCASTSS exp5<>(SB), Z24
	VBROADCASTSS one<>(SB), Z25
	VBROADCASTSS expFloor<>(SB), Z26
	VBROADCASTSS negInf<>(SB), Z29

sRow:
	VMOVAPS Z29, Z0
	XORQ R10, R10
	MOVQ DX, CX
	TESTQ CX, CX
	JZ   sMaxTail

sMax:
	VMAXPS (SI)(R10*1), Z0, Z0
	ADDQ $64, R10
	DECQ CX
	JNZ  sMax

sMaxTail:
	KORTESTW K1, K1
	JZ   sMaxDone
	VMOVAPS Z29, Z1
	VMOVUPS (SI)(R10*1), K1, Z1     // −∞ in the lanes past l
	VMAXPS Z1, Z0, Z0

sMaxDone:
	HREDUCE(VMAXPS, Z0, Y0, X0, Y1, X1)
	VBROADCASTSS X0, Z0
	VPXORD Z2, Z2, Z2
	XORQ R10, R10
	MOVQ DX, CX
	TESTQ CX, CX
	JZ   sExpTail

sExp:
	VMOVUPS (SI)(R10*1), Z3
	VSUBPS Z0, Z3, Z3
	KXNORW K2, K2, K2
	EXPZ
	VMOVUPS Z4, (DI)(R10*1)
	VADDPS Z4, Z2, Z2
	ADDQ $64, R10
	DECQ CX
	JNZ  sExp

sExpTail:
	KORTESTW K1, K1
	JZ   sExpDone
	VMOVUPS.Z (SI)(R10*1), K1, Z3
	VSUBPS Z0, Z3, Z3
	KMOVW K1, K2                    // the lanes past l come out 0
	EXPZ
	VMOVUPS Z4, K1, (DI)(R10*1)
	VADDPS Z4, Z2, Z2

sExpDone:
	HREDUCE(VADDPS, Z2, Y2, X2, Y3, X3)
	VMOVSS one<>(SB), X3
	VDIVSS X2, X3, X3
	VBROADCASTSS X3, Z3             // 1/Σ
	XORQ R10, R10
	MOVQ DX, CX
	TESTQ CX, CX
	JZ   sNormTail

sNorm:
	VMULPS (DI)(R10*1), Z3, Z4
	VMOVUPS Z4, (DI)(R10*1)
	ADDQ $64, R10
	DECQ CX
	JNZ  sNorm

sNormTail:
	KORTESTW K1, K1
	JZ   sRowDone
	VMOVUPS.Z (DI)(R10*1), K1, Z4
	VMULPS Z3, Z4, Z4
	VMOVUPS Z4, K1, (DI)(R10*1)

sRowDone:
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ R14
	JNZ  sRow
	VZEROUPPER
	RET

// func softmaxGradRowsAVX512(m, l int, p *float32, ldp int, ds *float32, lds int, kept *float32)
// For i < m, with d = ds[i][:l], times kept[i][:l] (stride ldp) unless kept is nil:
// ds[i][:l] = p[i][:l]·(d − Σ p[i][:l]·d), softmax's backward pass; the sum folded lane by lane
// (fused multiply-adds) and then across the lanes in a fixed order.
TEXT ·softmaxGradRowsAVX512(SB), NOSPLIT, $0-56
	MOVQ m+0(FP), R14
	MOVQ l+8(FP), AX
	MOVQ p+16(FP), SI
	MOVQ ldp+24(FP), R8
	SHLQ $2, R8
	MOVQ ds+32(FP), DI
	MOVQ lds+40(FP), R9
	SHLQ $2, R9
	MOVQ kept+48(FP), R11
	MOVQ AX, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1                    // the lanes of the last, partial vector (none if l mod 16 = 0)
	MOVQ AX, DX
	SHRQ $4, DX                     // full vectors

gRow:
	VPXORD Z2, Z2, Z2
	XORQ R10, R10
	MOVQ DX, CX
	TESTQ CX, CX
	JZ   gDotTail

gDot:
	VMOVUPS (DI)(R10*1), Z0
	TESTQ R11, R11
	JZ   gDotUnmasked
	VMULPS (R11)(R10*1), Z0, Z0
	VMOVUPS Z0, (DI)(R10*1)

gDotUnmasked:
	VFMADD231PS (SI)(R10*1), Z0, Z2
	ADDQ $64, R10
	DECQ CX
	JNZ  gDot

gDotTail:
	KORTESTW K1, K1
	JZ   gDotDone
	VMOVUPS.Z (DI)(R10*1), K1, Z0
	TESTQ R11, R11
	JZ   gDotTailUnmasked
	VMOVUPS.Z (R11)(R10*1), K1, Z1
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)(R10*1)

gDotTailUnmasked:
	VMOVUPS.Z (SI)(R10*1), K1, Z1
	VFMADD231PS Z1, Z0, Z2

gDotDone:
	HREDUCE(VADDPS, Z2, Y2, X2, Y3, X3)
	VBROADCASTSS X2, Z2             // Σ p·d
	XORQ R10, R10
	MOVQ DX, CX
	TESTQ CX, CX
	JZ   gOutTail

gOut:
	VMOVUPS (DI)(R10*1), Z0
	VSUBPS Z2, Z0, Z0
	VMULPS (SI)(R10*1), Z0, Z0
	VMOVUPS Z0, (DI)(R10*1)
	ADDQ $64, R10
	DECQ CX
	JNZ  gOut

gOutTail:
	KORTESTW K1, K1
	JZ   gRowDone
	VMOVUPS.Z (DI)(R10*1), K1, Z0
	VMOVUPS.Z (SI)(R10*1), K1, Z1
	VSUBPS Z2, Z0, Z0
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)(R10*1)

gRowDone:
	ADDQ R8, SI
	TESTQ R11, R11
	JZ   gNext
	ADDQ R8, R11

gNext:
	ADDQ R9, DI
	DECQ R14
	JNZ  gRow
	VZEROUPPER
	RET
