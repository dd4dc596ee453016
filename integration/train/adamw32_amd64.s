#include "textflag.h"

// func adamStep8(n int, wp, gp, mp, vp *float32, c *adamConsts)
// Eight values per iteration, each operation the one adamUpdate32 does, in the same order (Go's
// three-operand AVX syntax is op src2, src1, dst: VSUBPS Y2, Y1, Y4 is Y4 = Y1 − Y2).
TEXT ·adamStep8(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ wp+8(FP), DI
	MOVQ gp+16(FP), SI
	MOVQ mp+24(FP), R8
	MOVQ vp+32(FP), R9
	MOVQ c+40(FP), DX
	VBROADCASTSS 0(DX), Y8   // decay
	VBROADCASTSS 4(DX), Y9   // 1 − β1
	VBROADCASTSS 8(DX), Y10  // β2
	VBROADCASTSS 12(DX), Y11 // 1 − β2
	VBROADCASTSS 16(DX), Y12 // √(1 − β2ᵗ)
	VBROADCASTSS 20(DX), Y13 // ε
	VBROADCASTSS 24(DX), Y14 // −lr/(1 − β1ᵗ)
	XORQ AX, AX

loop:
	VMOVUPS (DI)(AX*4), Y0   // w
	VMOVUPS (SI)(AX*4), Y1   // g
	VMOVUPS (R8)(AX*4), Y2   // m
	VMOVUPS (R9)(AX*4), Y3   // v
	VMULPS  Y8, Y0, Y0       // w·decay
	VSUBPS  Y2, Y1, Y4       // g − m
	VMULPS  Y4, Y9, Y4       // (1−β1)·(g − m)
	VADDPS  Y4, Y2, Y2       // m + …
	VMULPS  Y10, Y3, Y3      // v·β2
	VMULPS  Y1, Y11, Y5      // (1−β2)·g
	VMULPS  Y1, Y5, Y5       // ((1−β2)·g)·g
	VADDPS  Y5, Y3, Y3       // v·β2 + …
	VSQRTPS Y3, Y6           // √v
	VDIVPS  Y12, Y6, Y6      // √v / √(1−β2ᵗ)
	VADDPS  Y13, Y6, Y6      // … + ε
	VMULPS  Y2, Y14, Y7      // step·m
	VDIVPS  Y6, Y7, Y7       // step·m / denom
	VADDPS  Y7, Y0, Y0       // w + …
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y2, (R8)(AX*4)
	VMOVUPS Y3, (R9)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JB      loop
	VZEROUPPER
	RET
