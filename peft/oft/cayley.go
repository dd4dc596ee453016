package oft

import (
	"fmt"
	"math"
	"slices"

	"github.com/spago-peft/spago-peft/internal/op"
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
	// evaluation H_L = c_L·I, H_k = c_k·I + Q·H_(k+1), A = I + Q·H_1, and hornerT their
	// transposes (the backward's products read them by rows).
	inv             []float64
	horner, hornerT [][]float64
}

// matrix returns PEFT's block matrix A for the packed parameters p, and the state its gradient
// needs: by the block kernels of this file, or by gemm when they are switched off (see
// SetCayleyKernels).
func (f form) matrix(p []float64) ([]float64, blockState) {
	if !cayleyKernels {
		return f.matrixGemm(p)
	}
	b := f.b
	q := skew(p, b)
	st := blockState{q: q}
	a := make([]float64, b*b)
	if f.coeffs == nil {
		// A = (I − Q)(I + Q)⁻¹ = 2(I + Q)⁻¹ − I, by Gauss–Jordan without pivoting: every pivot of
		// I + Q is at least 1 (its Schur complements are I + Q' + v·vᵀ, whose symmetric part is
		// at least I), so none can be small. NaN or infinite parameters fail it, and then invert
		// decides as matrixGemm does.
		inv := addIdentity(slices.Clone(q), 1, b)
		if !gaussJordan(inv, b) {
			return f.matrixGemm(p)
		}
		st.inv = inv
		for i, v := range inv {
			a[i] = 2 * v
		}
		addIdentity(a, -1, b)
		return a, st
	}
	l := len(f.coeffs)
	st.horner = make([][]float64, l)
	st.hornerT = make([][]float64, l)
	h := addIdentity(make([]float64, b*b), f.coeffs[l-1], b)
	st.horner[l-1] = h
	for k := l - 2; k >= 0; k-- {
		next := addIdentity(make([]float64, b*b), f.coeffs[k], b)
		mulAdd(next, q, h, b, false)
		st.horner[k] = next
		h = next
	}
	for k, h := range st.horner {
		st.hornerT[k] = transposeBlock(h, b)
	}
	addIdentity(a, 1, b)
	mulAdd(a, q, h, b, false)
	return a, st
}

// grad returns ∂L/∂p for the block whose forward left st, given ga = ∂L/∂A.
func (f form) grad(ga []float64, st blockState) []float64 {
	if !cayleyKernels {
		return f.gradGemm(ga, st)
	}
	b := f.b
	if f.coeffs == nil {
		// dA = −2·M⁻¹·dQ·M⁻¹ with M = I + Q, so ∂L/∂Q = −2·G with G = M⁻ᵀ·Ā·M⁻ᵀ. The kernels
		// read their left factor by columns, so compute Gᵀ = M⁻¹·(Āᵀ·M⁻¹); packing −2·G takes
		// 2·(Gᵀ[i][j] − Gᵀ[j][i]).
		u := make([]float64, b*b)
		mulAdd(u, ga, st.inv, b, true)
		gt := make([]float64, b*b)
		mulAdd(gt, st.inv, u, b, false)
		gp := packGrad(gt, b)
		for i := range gp {
			gp[i] *= 2
		}
		return gp
	}
	// Reverse Horner: for X = c·I + Q·H, Q̄ += X̄·Hᵀ and H̄ = Qᵀ·X̄; A = I + Q·H_1 starts with X̄ = Ā.
	gq := make([]float64, b*b)
	gx := ga
	for k := range st.horner {
		mulAdd(gq, gx, st.hornerT[k], b, false)
		if k == len(st.horner)-1 {
			break
		}
		gh := make([]float64, b*b)
		mulAdd(gh, st.q, gx, b, true)
		gx = gh
	}
	return packGrad(gq, b)
}

// mulAdd adds a·m to the b×b matrix c, reading a as its transpose when ta: row by row, each row
// of c in registers while the rows of m stream past (op.VecMat64), a read along its row or, when
// transposed, its column.
func mulAdd(c, a, m []float64, b int, ta bool) {
	rowStride, colStride := b, 1
	if ta {
		rowStride, colStride = 1, b
	}
	for i := 0; i < b; i++ {
		op.VecMat64(c[i*b:(i+1)*b], a[i*rowStride:], colStride, m, b, b)
	}
}

// gaussJordan inverts the b×b matrix m in place without pivoting, one rank-one update per pivot,
// and reports false, leaving m undefined, when a pivot is not a finite number of magnitude at
// least 2⁻²⁶: only I + Q with NaN or infinite values in Q, whose pivots are otherwise at least 1.
func gaussJordan(m []float64, b int) bool {
	col := make([]float64, b)
	for c := 0; c < b; c++ {
		piv := m[c*b+c]
		if !(math.Abs(piv) >= 0x1p-26) || math.IsInf(piv, 0) {
			return false
		}
		p := 1 / piv
		row := m[c*b : (c+1)*b]
		for j := range row {
			row[j] *= p
		}
		row[c] = p
		for r := range col {
			col[r] = -m[r*b+c]
		}
		// Every other row r loses m[r][c] times the pivot row; row c itself is left out, so
		// that the update never reads the values it writes.
		op.Ger64(m, b, col, 1, row, c)
		op.Ger64(m[(c+1)*b:], b, col[c+1:], 1, row, b-c-1)
		for r := range col {
			if r != c {
				m[r*b+c] = col[r] * p
			}
		}
	}
	return true
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
