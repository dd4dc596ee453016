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

// iota holds 0, 1, …, 15: gather indices once multiplied by a row stride.
DATA iota<>+0(SB)/4, $0
DATA iota<>+4(SB)/4, $1
DATA iota<>+8(SB)/4, $2
DATA iota<>+12(SB)/4, $3
DATA iota<>+16(SB)/4, $4
DATA iota<>+20(SB)/4, $5
DATA iota<>+24(SB)/4, $6
DATA iota<>+28(SB)/4, $7
DATA iota<>+32(SB)/4, $8
DATA iota<>+36(SB)/4, $9
DATA iota<>+40(SB)/4, $10
DATA iota<>+44(SB)/4, $11
DATA iota<>+48(SB)/4, $12
DATA iota<>+52(SB)/4, $13
DATA iota<>+56(SB)/4, $14
DATA iota<>+60(SB)/4, $15
GLOBL iota<>(SB), RODATA|NOPTR, $64

// func mulShortAVX512(m, n, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32)
// c[i][j] = alpha·Σ_p a[i][p]·b[p][j] for i < m, j < n (a multiple of 32), the sum a chain of
// fused multiply-adds in the order of p. Rows go four at a time (eight accumulators of 16
// columns), the last m mod 4 one at a time.
TEXT ·mulShortAVX512(SB), NOSPLIT, $0-76
	MOVQ m+0(FP), DI
	MOVQ n+8(FP), R8
	SHLQ $2, R8                     // row width in bytes
	MOVQ a+24(FP), SI
	MOVQ lda+32(FP), R10
	SHLQ $2, R10
	MOVQ b+40(FP), DX
	MOVQ ldb+48(FP), R9
	SHLQ $2, R9
	MOVQ c+56(FP), BX
	MOVQ ldc+64(FP), R14
	SHLQ $2, R14
	VBROADCASTSS alpha+72(FP), Z31

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
	ADDQ $4, R13
	ADDQ $4, R15
	ADDQ R9, R12
	DECQ CX
	JNZ  k4

	LEAQ (BX)(R11*1), AX
	VMULPS Z31, Z0, Z0
	VMULPS Z31, Z1, Z1
	VMULPS Z31, Z2, Z2
	VMULPS Z31, Z3, Z3
	VMULPS Z31, Z4, Z4
	VMULPS Z31, Z5, Z5
	VMULPS Z31, Z6, Z6
	VMULPS Z31, Z7, Z7
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, 64(AX)
	VMOVUPS Z2, (AX)(R14*1)
	VMOVUPS Z3, 64(AX)(R14*1)
	LEAQ (AX)(R14*2), AX
	VMOVUPS Z4, (AX)
	VMOVUPS Z5, 64(AX)
	VMOVUPS Z6, (AX)(R14*1)
	VMOVUPS Z7, 64(AX)(R14*1)
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
	ADDQ $4, R13
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
// kt[c][j] = k[j][c] for c < dh and j < l, and 0 for l ≤ j < lp (a multiple of 16): the keys of
// a block as columns, sixteen rows gathered per instruction.
TEXT ·transposeShortAVX512(SB), NOSPLIT, $0-48
	MOVQ l+0(FP), AX
	MOVQ dh+8(FP), R14
	MOVQ k+16(FP), SI
	MOVQ ldk+24(FP), R8
	MOVQ kt+32(FP), DI
	MOVQ lp+40(FP), R9
	SHRQ $4, R9                     // vectors per row of kt
	MOVQ AX, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX                         // mask of the last, partial vector (0 if none)
	MOVQ AX, DX
	SHRQ $4, DX                     // full vectors
	MOVQ R8, X1
	VPBROADCASTD X1, Z1
	VPMULLD iota<>(SB), Z1, Z30     // index of row j: j·ldk
	MOVQ R8, R10
	SHLQ $6, R10                    // sixteen rows in bytes

tColumn:
	MOVQ SI, R11
	XORQ R13, R13

tVector:
	VPXORD Z0, Z0, Z0
	CMPQ R13, DX
	JLT  tFull
	JGT  tStore
	TESTL BX, BX
	JZ   tStore
	KMOVW BX, K1
	JMP  tGather

tFull:
	KXNORW K1, K1, K1

tGather:
	VGATHERDPS (R11)(Z30*4), K1, Z0

tStore:
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ R10, R11
	INCQ R13
	CMPQ R13, R9
	JLT  tVector

	ADDQ $4, SI
	DECQ R14
	JNZ  tColumn
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
