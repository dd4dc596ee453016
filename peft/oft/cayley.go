package oft

import (
	"fmt"
	"math"
	"slices"

	"github.com/spago-peft/spago-peft/internal/gemm"
)

// The functions of this file work on one b×b block at a time, row-major, in float64 whatever the
// adapter's element type: the blocks are small, and rounding them once at the end keeps a float32
// rotation orthogonal to float32 precision.

// form says how a skew-symmetric Q becomes PEFT's block matrix A (see the package doc).
type form struct {
	b int
	// coeffs are the Neumann coefficients c_1…c_L of A = I + Σ c_k·Q^k, or nil for the exact
	// Cayley transform.
	coeffs []float64
}

func newForm(b int, c Config) form {
	f := form{b: b}
	if c.UseCayleyNeumann {
		f.coeffs = neumannCoeffs(c.NumCayleyNeumannTerms)
	}
	return f
}

// neumannCoeffs returns the coefficients of PEFT's series with t ≥ 2 terms: I + 2Q for t = 2, and
// I + 2Q + … + 2Q^(L−1) + Q^L with L = max(t−1, 3) beyond, which is what PEFT's loop adds up (its
// 3- and 4-term series are the same).
func neumannCoeffs(t int) []float64 {
	if t == 2 {
		return []float64{2}
	}
	l := max(t-1, 3)
	c := make([]float64, l)
	for k := range c {
		c[k] = 2
	}
	c[l-1] = 1
	return c
}

// pairs returns the number of parameters of a b×b block, b(b−1)/2.
func pairs(b int) int { return b * (b - 1) / 2 }

// skew returns Q = S − Sᵀ, where the strict upper triangle of S holds p row by row.
func skew(p []float64, b int) []float64 {
	q := make([]float64, b*b)
	k := 0
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			q[i*b+j] = p[k]
			q[j*b+i] = -p[k]
			k++
		}
	}
	return q
}

// packGrad returns ∂L/∂p from ∂L/∂Q for Q = skew(p): the upper entry minus the lower one.
func packGrad(gq []float64, b int) []float64 {
	gp := make([]float64, 0, pairs(b))
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			gp = append(gp, gq[i*b+j]-gq[j*b+i])
		}
	}
	return gp
}

// blockState is what the backward pass of one block needs from its forward.
type blockState struct {
	q []float64
	// inv is (I + Q)⁻¹ for the exact form; horner holds H_1…H_L of the Neumann form's Horner
	// evaluation H_L = c_L·I, H_k = c_k·I + Q·H_(k+1), A = I + Q·H_1.
	inv    []float64
	horner [][]float64
}

// matrix returns PEFT's block matrix A for the packed parameters p, and the state its gradient
// needs.
func (f form) matrix(p []float64) ([]float64, blockState) {
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

// grad returns ∂L/∂p for the block whose forward left st, given ga = ∂L/∂A.
func (f form) grad(ga []float64, st blockState) []float64 {
	b := f.b
	gq := make([]float64, b*b)
	if f.coeffs == nil {
		// dA = −2·M⁻¹·dQ·M⁻¹ with M = I + Q, so ∂L/∂Q = −2·M⁻ᵀ·Ā·M⁻ᵀ.
		t := make([]float64, b*b)
		gemm.Gemm(true, false, b, b, b, 1, st.inv, b, ga, b, 0, t, b)
		gemm.Gemm(false, true, b, b, b, -2, t, b, st.inv, b, 0, gq, b)
		return packGrad(gq, b)
	}
	// Reverse Horner: for X = c·I + Q·H, Q̄ += X̄·Hᵀ and H̄ = Qᵀ·X̄; A = I + Q·H_1 starts with X̄ = Ā.
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

// addIdentity adds s·I to the b×b matrix m in place and returns m.
func addIdentity(m []float64, s float64, b int) []float64 {
	for i := 0; i < b; i++ {
		m[i*b+i] += s
	}
	return m
}

// transposeBlock returns the transpose of the b×b matrix m.
func transposeBlock(m []float64, b int) []float64 {
	t := make([]float64, b*b)
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			t[j*b+i] = m[i*b+j]
		}
	}
	return t
}

// invert returns the inverse of the b×b matrix m by LU factorisation with partial pivoting, or an
// error when a pivot is so small against m's largest entry that m is singular to float64
// precision. m is overwritten.
func invert(m []float64, b int) ([]float64, error) {
	var scale float64
	for _, v := range m {
		scale = math.Max(scale, math.Abs(v))
	}
	tiny := float64(b) * 0x1p-52 * scale
	perm := make([]int, b)
	for i := range perm {
		perm[i] = i
	}
	for c := 0; c < b; c++ {
		piv := c
		for r := c + 1; r < b; r++ {
			if math.Abs(m[r*b+c]) > math.Abs(m[piv*b+c]) {
				piv = r
			}
		}
		if !(math.Abs(m[piv*b+c]) > tiny) {
			return nil, fmt.Errorf("singular to float64 precision (pivot %g in column %d)", m[piv*b+c], c)
		}
		if piv != c {
			for j := 0; j < b; j++ {
				m[c*b+j], m[piv*b+j] = m[piv*b+j], m[c*b+j]
			}
			perm[c], perm[piv] = perm[piv], perm[c]
		}
		d := m[c*b+c]
		src := m[c*b+c+1 : (c+1)*b]
		for r := c + 1; r < b; r++ {
			l := m[r*b+c] / d
			m[r*b+c] = l
			axpy(-l, src, m[r*b+c+1:(r+1)*b])
		}
	}
	// Solve L·U·X = P·I column by column of the result, kept row-major.
	inv := make([]float64, b*b)
	for i, p := range perm {
		inv[i*b+p] = 1
	}
	for r := 1; r < b; r++ { // forward substitution with the unit lower triangle
		row := inv[r*b : (r+1)*b]
		for c := 0; c < r; c++ {
			if l := m[r*b+c]; l != 0 {
				axpy(-l, inv[c*b:(c+1)*b], row)
			}
		}
	}
	for r := b - 1; r >= 0; r-- { // back substitution with the upper triangle
		row := inv[r*b : (r+1)*b]
		for c := r + 1; c < b; c++ {
			if u := m[r*b+c]; u != 0 {
				axpy(-u, inv[c*b:(c+1)*b], row)
			}
		}
		d := 1 / m[r*b+r]
		for j := range row {
			row[j] *= d
		}
	}
	return inv, nil
}

// axpy sets y ← y + alpha·x, with x and y of the same length.
func axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
