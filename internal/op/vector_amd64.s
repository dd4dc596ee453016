#include "textflag.h"

// AVX2/FMA element-wise kernels of the float32 path, eight values per step. The constants are
// single floats, broadcast into Y15 (or Y14) where an instruction needs them.

#define F32(name, bits) \
	DATA name<>+0(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $4

F32(absMask, 0x7fffffff)
F32(one, 0x3f800000)
F32(minusHalf, 0xbf000000)
F32(sixteen, 0x41800000)        // |x| is clamped here: Φ(−16) is far below float32's range
F32(expFloor, 0xc2ae0000)       // −87: EXP's smallest argument (2⁻¹²⁶ ≈ exp(−87.3))
F32(log2e, 0x3fb8aa3b)          // log₂ e
F32(ln2Hi, 0x3f318000)          // 0.693359375, ln 2 split as Cephes does
F32(ln2Lo, 0xb95e8083)          // −2.12194440e−4
F32(exp0, 0x39506967)           // 1.9875691500e−4: Cephes expf's polynomial, highest first
F32(exp1, 0x3ab743ce)           // 1.3981999507e−3
F32(exp2, 0x3c088908)           // 8.3334519073e−3
F32(exp3, 0x3d2aa9c1)           // 4.1665795894e−2
F32(exp4, 0x3e2aaaaa)           // 1.6666665459e−1
F32(exp5, 0x3f000000)           // 5.0000001201e−1
F32(invSqrt2Pi, 0x3ecc422a)     // 1/√(2π)
F32(millsScale, 0x3e99999a)     // 0.3: w = 1/(1 + 0.3|x|)
F32(mills10, 0xbd51a03a)        // Mills ratio M(|x|) as a polynomial in w, highest first
F32(mills9, 0x3e8ec084)
F32(mills8, 0xbf1076d3)
F32(mills7, 0x3ef04d61)
F32(mills6, 0xbe40ef21)
F32(mills5, 0x3e700681)
F32(mills4, 0x3e4c08da)
F32(mills3, 0x3e8d1664)
F32(mills2, 0x3e998660)
F32(mills1, 0x3e999939)
F32(mills0, 0x35135b0b)

// BINARY is the body of a function (n int, dst, a, b *float32) setting dst = a op b.
#define BINARY(op) \
	MOVQ n+0(FP), CX; \
	MOVQ dst+8(FP), DI; \
	MOVQ a+16(FP), SI; \
	MOVQ b+24(FP), DX; \
	SHRQ $3, CX; \
	JZ   done; \
	XORQ AX, AX; \
loop: \
	VMOVUPS (SI)(AX*1), Y0; \
	op (DX)(AX*1), Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*1); \
	ADDQ $32, AX; \
	DECQ CX; \
	JNZ  loop; \
done: \
	VZEROUPPER; \
	RET

// CONST broadcasts a constant into Y15.
#define CONST(name) VBROADCASTSS name<>(SB), Y15

// HORNER steps the polynomial in acc by one coefficient: acc = acc·x + c.
#define HORNER(c, x, acc) \
	CONST(c); \
	VFMADD213PS Y15, x, acc

// EXP sets out to exp(arg) for arg in [−87, 88], as Cephes expf: n = round(arg·log₂e),
// r = arg − n·ln 2 (in two parts), exp(r) by a degree-5 polynomial, times 2ⁿ. It uses n, z as
// scratch and overwrites arg with r.
#define EXP(arg, out, n, z) \
	CONST(log2e); \
	VMULPS Y15, arg, n; \
	VROUNDPS $0, n, n; \
	CONST(ln2Hi); \
	VFNMADD231PS Y15, n, arg; \
	CONST(ln2Lo); \
	VFNMADD231PS Y15, n, arg; \
	VMULPS arg, arg, z; \
	VBROADCASTSS exp0<>(SB), out; \
	HORNER(exp1, arg, out); \
	HORNER(exp2, arg, out); \
	HORNER(exp3, arg, out); \
	HORNER(exp4, arg, out); \
	HORNER(exp5, arg, out); \
	VFMADD213PS arg, z, out; \
	CONST(one); \
	VADDPS Y15, out, out; \
	VCVTPS2DQ n, n; \
	VPSLLD $23, n, n; \
	VPADDD Y15, n, n; \
	VMULPS n, out, out

// func geluAVX(n int, x, y, d *float32)
// y[i] = x·Φ(x) and, when d is not nil, d[i] = Φ(x) + x·φ(x), for x = x[i], i < n, n a
// multiple of 8. With a = |x| (at most 16): φ = exp(−a²/2)/√(2π), a² taken exactly as hi + lo
// (exp(−hi/2)·(1 − lo/2)); Φ(−a) = φ·M(a), M the Mills ratio (1 − Φ(a))/φ(a) as a degree-10
// polynomial in w = 1/(1 + 0.3a) (relative error 3e−9 before rounding); Φ(x) = Φ(−a) for
// negative x, 1 − Φ(−a) otherwise.
TEXT ·geluAVX(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ d+24(FP), DX
	SHRQ $3, CX
	JZ   done
	VBROADCASTSS one<>(SB), Y14

loop:
	VMOVUPS (SI), Y0                // x
	VBROADCASTSS absMask<>(SB), Y1
	VANDPS Y1, Y0, Y1
	CONST(sixteen)
	VMINPS Y15, Y1, Y1              // a = min(|x|, 16); NaN becomes 16, and y, d stay NaN
	VMULPS Y1, Y1, Y2               // hi = a²
	VMOVAPS Y2, Y3
	VFMSUB231PS Y1, Y1, Y3          // lo = a² − hi, exactly
	CONST(minusHalf)
	VMULPS Y15, Y2, Y4
	VFMADD213PS Y14, Y15, Y3        // 1 − lo/2: exp(−lo/2) to float32's precision
	CONST(expFloor)
	VCMPPS $0x1d, Y15, Y4, Y11      // where −hi/2 ≥ −87; below, exp is taken as 0
	VMAXPS Y15, Y4, Y4
	EXP(Y4, Y5, Y6, Y7)
	VMULPS Y3, Y5, Y5
	VANDPS Y11, Y5, Y5              // exp(−a²/2)
	CONST(invSqrt2Pi)
	VMULPS Y15, Y5, Y5              // φ

	CONST(millsScale)
	VMOVAPS Y14, Y6
	VFMADD231PS Y15, Y1, Y6         // 1 + 0.3a
	VDIVPS Y6, Y14, Y6              // w
	VBROADCASTSS mills10<>(SB), Y7
	HORNER(mills9, Y6, Y7)
	HORNER(mills8, Y6, Y7)
	HORNER(mills7, Y6, Y7)
	HORNER(mills6, Y6, Y7)
	HORNER(mills5, Y6, Y7)
	HORNER(mills4, Y6, Y7)
	HORNER(mills3, Y6, Y7)
	HORNER(mills2, Y6, Y7)
	HORNER(mills1, Y6, Y7)
	HORNER(mills0, Y6, Y7)
	VMULPS Y5, Y7, Y7               // Φ(−a) = φ·M(a)
	VSUBPS Y7, Y14, Y8              // 1 − Φ(−a)
	VBLENDVPS Y0, Y7, Y8, Y9        // Φ(x): Φ(−a) where x's sign bit is set
	VMULPS Y9, Y0, Y10
	VMOVUPS Y10, (DI)               // y = x·Φ(x)
	TESTQ DX, DX
	JZ   next
	VFMADD231PS Y5, Y0, Y9
	VMOVUPS Y9, (DX)                // d = Φ(x) + x·φ(x)
	ADDQ $32, DX

next:
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func expSumAVX(n int, x *float32, shift float32) float32
// x[i] = exp(x[i] − shift) for i < n, n a multiple of 8, 0 for arguments below −87;
// returns the sum of the results, added lane by lane and then across the lanes in a fixed order.
TEXT ·expSumAVX(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS shift+16(FP), Y13
	VXORPS Y12, Y12, Y12
	SHRQ $3, CX
	JZ   sum

expLoop:
	VMOVUPS (SI), Y0
	VSUBPS Y13, Y0, Y0
	CONST(expFloor)
	VCMPPS $0x1d, Y15, Y0, Y4       // where x − shift ≥ −87 (or NaN); below, exp is taken as 0
	VCMPPS $0x03, Y0, Y0, Y5
	VORPS Y5, Y4, Y4
	VMAXPS Y0, Y15, Y0              // NaN stays NaN (MAXPS returns its second source)
	EXP(Y0, Y1, Y2, Y3)
	VANDPS Y4, Y1, Y1
	VMOVUPS Y1, (SI)
	VADDPS Y1, Y12, Y12
	ADDQ $32, SI
	DECQ CX
	JNZ  expLoop

sum:
	VEXTRACTF128 $1, Y12, X0
	VADDPS X0, X12, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// Row kernels of LayerNorm: n is a multiple of 8 (BERT's hidden sizes are). Sums run in eight
// lanes (four for float64) and are added across the lanes in a fixed order; element-wise
// results round exactly as the Go loops of layernorm.go do (no fused multiply-adds), so only the
// order of the sums differs from them.

// HSUMPD adds the four float64 lanes of Y reg (X reg its low half) into X reg's low lane.
#define HSUMPD(reg, xreg, tmp) \
	VEXTRACTF128 $1, reg, tmp; \
	VADDPD tmp, xreg, xreg; \
	VUNPCKHPD xreg, xreg, tmp; \
	VADDSD tmp, xreg, xreg

// HSUMPS adds the eight float32 lanes of Y reg (X reg its low half) into X reg's low lane.
#define HSUMPS(reg, xreg, tmp) \
	VEXTRACTF128 $1, reg, tmp; \
	VADDPS tmp, xreg, xreg; \
	VMOVHLPS xreg, xreg, tmp; \
	VADDPS tmp, xreg, xreg; \
	VMOVSHDUP xreg, tmp; \
	VADDSS tmp, xreg, xreg

// func rowMomentsAVX(n int, x *float32) (mean, sq float64)
// mean = Σx/n and sq = Σ(x − mean)², in float64.
TEXT ·rowMomentsAVX(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	SHRQ $3, CX
	MOVQ CX, BX
	MOVQ SI, DI
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

sumLoop:
	VCVTPS2PD (DI), Y0
	VCVTPS2PD 16(DI), Y1
	VADDPD Y0, Y8, Y8
	VADDPD Y1, Y9, Y9
	ADDQ $32, DI
	DECQ BX
	JNZ  sumLoop

	VADDPD Y9, Y8, Y8
	HSUMPD(Y8, X8, X1)
	MOVQ n+0(FP), AX
	VCVTSI2SDQ AX, X2, X2
	VDIVSD X2, X8, X8           // mean
	VMOVSD X8, mean+16(FP)
	VBROADCASTSD X8, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

sqLoop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VSUBPD Y7, Y0, Y0
	VSUBPD Y7, Y1, Y1
	VFMADD231PD Y0, Y0, Y8
	VFMADD231PD Y1, Y1, Y9
	ADDQ $32, SI
	DECQ CX
	JNZ  sqLoop

	VADDPD Y9, Y8, Y8
	HSUMPD(Y8, X8, X1)
	VMOVSD X8, sq+24(FP)
	VZEROUPPER
	RET

// func rowAffineAVX(n int, out, x, gain, bias *float32, mean, rstd float32)
// out = (x − mean)·rstd·gain + bias; out may be x.
TEXT ·rowAffineAVX(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ gain+24(FP), R8
	MOVQ bias+32(FP), R9
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS rstd+44(FP), Y7
	SHRQ $3, CX

affineLoop:
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMULPS (R8), Y0, Y0
	VADDPS (R9), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  affineLoop
	VZEROUPPER
	RET

// func rowGradAVX(n int, out, x, grow, gain *float32, mean, rstd float32)
// With ĝ = grow·gain and x̂ = (x − mean)·rstd: sg = Σĝ/n, sgx = Σĝ·x̂/n (float32), then
// out = rstd·(ĝ − sg − x̂·sgx), as normalizeRowGrad.
TEXT ·rowGradAVX(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ grow+24(FP), DX
	MOVQ gain+32(FP), R8
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS rstd+44(FP), Y7
	SHRQ $3, CX
	MOVQ CX, BX
	XORQ AX, AX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

dotLoop:
	VMOVUPS (DX)(AX*1), Y0
	VMULPS (R8)(AX*1), Y0, Y0   // ĝ
	VADDPS Y0, Y8, Y8
	VMOVUPS (SI)(AX*1), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y0, Y1, Y1           // ĝ·(x − mean), as Go's gh·(v−mean)·rstd left to right
	VMULPS Y7, Y1, Y1
	VADDPS Y1, Y9, Y9
	ADDQ $32, AX
	DECQ BX
	JNZ  dotLoop

	HSUMPS(Y8, X8, X1)
	HSUMPS(Y9, X9, X1)
	MOVQ n+0(FP), AX
	VCVTSI2SSQ AX, X2, X2
	VDIVSS X2, X8, X8
	VDIVSS X2, X9, X9
	VBROADCASTSS X8, Y8         // sg
	VBROADCASTSS X9, Y9         // sgx
	XORQ AX, AX

outLoop:
	VMOVUPS (DX)(AX*1), Y0
	VMULPS (R8)(AX*1), Y0, Y0
	VSUBPS Y8, Y0, Y0           // ĝ − sg
	VMOVUPS (SI)(AX*1), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMULPS Y9, Y1, Y1           // x̂·sgx
	VSUBPS Y1, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ  outLoop
	VZEROUPPER
	RET

// Element-wise loops of the backward passes, eight values at a time with the roundings of the
// Go loops they replace (no fused multiply-adds), so that their results are the same bit for
// bit. n is a multiple of 8.

// func mulAVX(n int, dst, a, b *float32)
// dst = a·b.
TEXT ·mulAVX(SB), NOSPLIT, $0-32
	BINARY(VMULPS)

// func addAVX(n int, dst, a, b *float32)
// dst = a + b.
TEXT ·addAVX(SB), NOSPLIT, $0-32
	BINARY(VADDPS)

// func dropAddAVX(n int, dst, a, mask, x *float32)
// dst = (a·mask where mask ≠ 0, else 0) + x: dropout's output plus the residual.
TEXT ·dropAddAVX(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ a+16(FP), SI
	MOVQ mask+24(FP), DX
	MOVQ x+32(FP), R8
	SHRQ $3, CX
	JZ   dropDone
	XORQ AX, AX
	VXORPS Y3, Y3, Y3

dropLoop:
	VMOVUPS (DX)(AX*1), Y1
	VCMPPS $0x04, Y3, Y1, Y2    // mask ≠ 0
	VMULPS (SI)(AX*1), Y1, Y0
	VANDPS Y2, Y0, Y0           // 0 where dropped, even for an infinite or NaN a
	VADDPS (R8)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ  dropLoop

dropDone:
	VZEROUPPER
	RET

// func affineGradAVX(n int, ggain, gbias, row, grow *float32, mean, rstd float32)
// ggain += grow·(row − mean)·rstd and gbias += grow, as accumulateAffineGrad.
TEXT ·affineGradAVX(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ ggain+8(FP), DI
	MOVQ gbias+16(FP), R9
	MOVQ row+24(FP), SI
	MOVQ grow+32(FP), DX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS rstd+44(FP), Y7
	SHRQ $3, CX
	JZ   affineGradDone
	XORQ AX, AX

affineGradLoop:
	VMOVUPS (DX)(AX*1), Y0
	VMOVUPS (SI)(AX*1), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y1, Y0, Y1
	VMULPS Y7, Y1, Y1
	VADDPS (DI)(AX*1), Y1, Y1
	VMOVUPS Y1, (DI)(AX*1)
	VADDPS (R9)(AX*1), Y0, Y0
	VMOVUPS Y0, (R9)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ  affineGradLoop

affineGradDone:
	VZEROUPPER
	RET
