#include "textflag.h"

// func gerAVX(m *float64, ldm int, a *float64, inca int, x *float64, rows, n int)
TEXT ·gerAVX(SB), NOSPLIT, $0-56
	MOVQ m+0(FP), DI
	MOVQ ldm+8(FP), R8
	SHLQ $3, R8
	MOVQ a+16(FP), SI
	MOVQ inca+24(FP), R9
	SHLQ $3, R9
	MOVQ x+32(FP), DX
	MOVQ rows+40(FP), CX
	MOVQ n+48(FP), BX
	MOVQ BX, R10
	SHRQ $2, R10 // groups of four
	ANDQ $3, BX  // then one by one

row:
	TESTQ CX, CX
	JZ    done
	VBROADCASTSD (SI), Y0
	XORQ  AX, AX
	MOVQ  R10, R11

quad:
	TESTQ       R11, R11
	JZ          single
	VMOVUPD     (DI)(AX*1), Y2
	VFMADD231PD (DX)(AX*1), Y0, Y2
	VMOVUPD     Y2, (DI)(AX*1)
	ADDQ        $32, AX
	DECQ        R11
	JMP         quad

single:
	MOVQ BX, R11

one:
	TESTQ       R11, R11
	JZ          next
	VMOVSD      (DI)(AX*1), X2
	VFMADD231SD (DX)(AX*1), X0, X2
	VMOVSD      X2, (DI)(AX*1)
	ADDQ        $8, AX
	DECQ        R11
	JMP         one

next:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JMP  row

done:
	VZEROUPPER
	RET
