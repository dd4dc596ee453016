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

// func vecMatAVX(c *float64, a *float64, inca int, m *float64, ldm, k, n int)
TEXT ·vecMatAVX(SB), NOSPLIT, $0-56
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ inca+16(FP), R8
	SHLQ $3, R8
	MOVQ m+24(FP), DX
	MOVQ ldm+32(FP), R9
	SHLQ $3, R9
	MOVQ k+40(FP), CX
	MOVQ n+48(FP), BX
	XORQ R10, R10 // byte offset of the current columns

cols16:
	CMPQ    BX, $16
	JLT     cols4
	VMOVUPD (DI)(R10*1), Y0
	VMOVUPD 32(DI)(R10*1), Y1
	VMOVUPD 64(DI)(R10*1), Y2
	VMOVUPD 96(DI)(R10*1), Y3
	MOVQ    SI, R11
	LEAQ    (DX)(R10*1), R12
	MOVQ    CX, R13

rows16:
	VBROADCASTSD (R11), Y4
	VFMADD231PD  (R12), Y4, Y0
	VFMADD231PD  32(R12), Y4, Y1
	VFMADD231PD  64(R12), Y4, Y2
	VFMADD231PD  96(R12), Y4, Y3
	ADDQ         R8, R11
	ADDQ         R9, R12
	DECQ         R13
	JNZ          rows16
	VMOVUPD      Y0, (DI)(R10*1)
	VMOVUPD      Y1, 32(DI)(R10*1)
	VMOVUPD      Y2, 64(DI)(R10*1)
	VMOVUPD      Y3, 96(DI)(R10*1)
	ADDQ         $128, R10
	SUBQ         $16, BX
	JMP          cols16

cols4:
	CMPQ    BX, $4
	JLT     cols1
	VMOVUPD (DI)(R10*1), Y0
	MOVQ    SI, R11
	LEAQ    (DX)(R10*1), R12
	MOVQ    CX, R13

rows4:
	VBROADCASTSD (R11), Y4
	VFMADD231PD  (R12), Y4, Y0
	ADDQ         R8, R11
	ADDQ         R9, R12
	DECQ         R13
	JNZ          rows4
	VMOVUPD      Y0, (DI)(R10*1)
	ADDQ         $32, R10
	SUBQ         $4, BX
	JMP          cols4

cols1:
	TESTQ  BX, BX
	JZ     vecMatDone
	VMOVSD (DI)(R10*1), X0
	MOVQ   SI, R11
	LEAQ   (DX)(R10*1), R12
	MOVQ   CX, R13

rows1:
	VMOVSD      (R11), X4
	VFMADD231SD (R12), X4, X0
	ADDQ        R8, R11
	ADDQ        R9, R12
	DECQ        R13
	JNZ         rows1
	VMOVSD      X0, (DI)(R10*1)
	ADDQ        $8, R10
	DECQ        BX
	JMP         cols1

vecMatDone:
	VZEROUPPER
	RET
