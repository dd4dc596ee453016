#include "textflag.h"

// ADAM_ARGS loads the arguments n, wp, gp, mp, vp and c, and broadcasts c's constants.
#define ADAM_ARGS \
	MOVQ n+0(FP), CX; \
	MOVQ wp+8(FP), DI; \
	MOVQ gp+16(FP), SI; \
	MOVQ mp+24(FP), R8; \
	MOVQ vp+32(FP), R9; \
	MOVQ c+40(FP), DX; \
	VBROADCASTSS 0(DX), Y8; \
	VBROADCASTSS 4(DX), Y9; \
	VBROADCASTSS 8(DX), Y10; \
	VBROADCASTSS 12(DX), Y11; \
	VBROADCASTSS 16(DX), Y12; \
	VBROADCASTSS 20(DX), Y13; \
	VBROADCASTSS 24(DX), Y14

// ADAM_UPDATE updates w, m and v at offset AX given the gradient in Y1 (constants: decay Y8,
// 1 − β1 Y9, β2 Y10, 1 − β2 Y11, √(1 − β2ᵗ) Y12, ε Y13, −lr/(1 − β1ᵗ) Y14), each operation the
// one adamUpdate32 does, in the same order (Go's three-operand AVX syntax is op src2, src1, dst:
// VSUBPS Y2, Y1, Y4 is Y4 = Y1 − Y2).
#define ADAM_UPDATE \
	VMOVUPS (DI)(AX*4), Y0; \
	VMOVUPS (R8)(AX*4), Y2; \
	VMOVUPS (R9)(AX*4), Y3; \
	VMULPS  Y8, Y0, Y0; \
	VSUBPS  Y2, Y1, Y4; \
	VMULPS  Y4, Y9, Y4; \
	VADDPS  Y4, Y2, Y2; \
	VMULPS  Y10, Y3, Y3; \
	VMULPS  Y1, Y11, Y5; \
	VMULPS  Y1, Y5, Y5; \
	VADDPS  Y5, Y3, Y3; \
	VSQRTPS Y3, Y6; \
	VDIVPS  Y12, Y6, Y6; \
	VADDPS  Y13, Y6, Y6; \
	VMULPS  Y2, Y14, Y7; \
	VDIVPS  Y6, Y7, Y7; \
	VADDPS  Y7, Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*4); \
	VMOVUPS Y2, (R8)(AX*4); \
	VMOVUPS Y3, (R9)(AX*4)

// func adamStep8(n int, wp, gp, mp, vp *float32, c *adamConsts)
TEXT ·adamStep8(SB), NOSPLIT, $0-48
	ADAM_ARGS
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*4), Y1 // g
	ADAM_UPDATE
	ADDQ    $8, AX
	CMPQ    AX, CX
	JB      loop
	VZEROUPPER
	RET

DATA negZero<>+0(SB)/4, $0x80000000
GLOBL negZero<>(SB), RODATA|NOPTR, $4

// func adamStep8Reset(n int, wp, gp, mp, vp *float32, c *adamConsts, scale float64)
// adamStep8 on the gradient times scale, each value widened to float64, multiplied and rounded
// back (as scaleInPlace), the gradient reset to −0 once read.
TEXT ·adamStep8Reset(SB), NOSPLIT, $0-56
	ADAM_ARGS
	VBROADCASTSD scale+48(FP), Y15
	XORQ AX, AX

resetLoop:
	VCVTPS2PD    (SI)(AX*4), Y0   // g[0:4] in float64
	VMULPD       Y15, Y0, Y0
	VCVTPD2PSY   Y0, X1
	VCVTPS2PD    16(SI)(AX*4), Y0 // g[4:8]
	VMULPD       Y15, Y0, Y0
	VCVTPD2PSY   Y0, X0
	VINSERTF128  $1, X0, Y1, Y1   // g·scale, rounded to float32
	VBROADCASTSS negZero<>(SB), Y4
	VMOVUPS      Y4, (SI)(AX*4)   // the gradient reset to −0
	ADAM_UPDATE
	ADDQ         $8, AX
	CMPQ         AX, CX
	JB           resetLoop
	VZEROUPPER
	RET
