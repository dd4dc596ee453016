package oft

import (
	"math"
	"slices"

	"github.com/spago-peft/spago-peft/internal/gemm"
)

// cayleyKernels selects the block kernels of cayley.go over the gemm-based forms of this file;
// SetCayleyKernels switches it.
var cayleyKernels = true

// SetCayleyKernels chooses how the Cayley map and its gradient are computed, and returns the
// previous choice: on (the default), by Gauss–Jordan and rank-one updates on each block
// (op.Ger64); off, by LU with partial pivoting and gemm, as before. Both compute the same maths
// in float64 and differ only by rounding; the switch is for benchmarks that compare them in one
// process and for tests that check one against the other. Call it only while no OFT layer runs.
func SetCayleyKernels(on bool) (was bool) {
	was, cayleyKernels = cayleyKernels, on
	return was
}

// matrixGemm is form.matrix by LU with partial pivoting and gemm.
func (f form) matrixGemm(p []float64) ([]float64, blockState) {
	b := f.b
	q := skew(p, b)
	st := blockState{q: q}
	a := make([]float64, b*b)
	if f.coeffs == nil {
		// A = (I − Q)(I + Q)⁻¹ = 2(I + Q)⁻¹ − I. I + Q is never singular, its symmetric part
		// being I, unless p holds NaN or infinite values: then A is NaN, which Validate reports.
		inv, err := invert(addIdentity(slices.Clone(q), 1, b), b)
		if err != nil {
			inv = make([]float64, b*b)
			for i := range inv {
				inv[i] = math.NaN()
			}
		}
		st.inv = inv
		for i, v := range st.inv {
			a[i] = 2 * v
		}
		addIdentity(a, -1, b)
		return a, st
	}
	l := len(f.coeffs)
	st.horner = make([][]float64, l)
	h := addIdentity(make([]float64, b*b), f.coeffs[l-1], b)
	st.horner[l-1] = h
	for k := l - 2; k >= 0; k-- {
		next := addIdentity(make([]float64, b*b), f.coeffs[k], b)
		gemm.Gemm(false, false, b, b, b, 1, q, b, h, b, 1, next, b)
		st.horner[k] = next
		h = next
	}
	copy(a, addIdentity(make([]float64, b*b), 1, b))
	gemm.Gemm(false, false, b, b, b, 1, q, b, h, b, 1, a, b)
	return a, st
}

// gradGemm is form.grad by gemm.
func (f form) gradGemm(ga []float64, st blockState) []float64 {
	b := f.b
	gq := make([]float64, b*b)
	if f.coeffs == nil {
		// dA = −2·M⁻¹·dQ·M⁻¹ with M = I + Q, so ∂L/∂Q = −2·M⁻ᵀ·Ā·M⁻ᵀ.
		t := make([]float64, b*b)
		gemm.Gemm(true, false, b, b, b, 1, st.inv, b, ga, b, 0, t, b)
		gemm.Gemm(false, true, b, b, b, -2, t, b, st.inv, b, 0, gq, b)
		return packGrad(gq, b)
	}
	gx := ga
	for k := range st.horner {
		h := st.horner[k]
		gemm.Gemm(false, true, b, b, b, 1, gx, b, h, b, 1, gq, b)
		if k == len(st.horner)-1 {
			break
		}
		gh := make([]float64, b*b)
		gemm.Gemm(true, false, b, b, b, 1, st.q, b, gx, b, 0, gh, b)
		gx = gh
	}
	return packGrad(gq, b)
}
