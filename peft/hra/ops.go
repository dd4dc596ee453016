package hra

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// unitColumns returns U with every column divided by its Euclidean norm: Û, whose column j is the
// unit normal û_j of reflection j.
func unitColumns(u mat.Tensor) mat.Tensor {
	return op.Build(u,
		func() ag.AutoGradFunction { return &unitColumnsFn[float32]{u: u} },
		func() ag.AutoGradFunction { return &unitColumnsFn[float64]{u: u} })
}

type unitColumnsFn[T float.DType] struct {
	u     mat.Tensor
	norms []T
}

func (f *unitColumnsFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.u} }

func (f *unitColumnsFn[T]) Forward() (mat.Tensor, error) {
	d, r := op.Dims(f.u)
	u := op.Values[T](f.u)
	f.norms = columnNorms(u, d, r)
	y := make([]T, len(u))
	for i := 0; i < d; i++ {
		for j := 0; j < r; j++ {
			y[i*r+j] = u[i*r+j] / f.norms[j]
		}
	}
	return op.NewDense(d, r, y), nil
}

// Backward: for û = u/‖u‖, ∂L/∂u = (g − û·⟨û, g⟩)/‖u‖.
func (f *unitColumnsFn[T]) Backward(gy mat.Tensor) error {
	if !f.u.RequiresGrad() {
		return nil
	}
	d, r := op.Dims(f.u)
	g := op.Values[T](gy)
	u := op.Values[T](f.u)
	proj := make([]T, r)
	for i := 0; i < d; i++ {
		for j := 0; j < r; j++ {
			proj[j] += u[i*r+j] / f.norms[j] * g[i*r+j]
		}
	}
	gu := make([]T, d*r)
	for i := 0; i < d; i++ {
		for j := 0; j < r; j++ {
			gu[i*r+j] = (g[i*r+j] - u[i*r+j]/f.norms[j]*proj[j]) / f.norms[j]
		}
	}
	f.u.AccGrad(op.NewDense(d, r, gu))
	return nil
}

// columnNorms returns the Euclidean norm of each column of the d×r row-major matrix u.
func columnNorms[T float.DType](u []T, d, r int) []T {
	sq := make([]float64, r)
	for i := 0; i < d; i++ {
		for j := 0; j < r; j++ {
			v := float64(u[i*r+j])
			sq[j] += v * v
		}
	}
	norms := make([]T, r)
	for j, s := range sq {
		norms[j] = T(math.Sqrt(s))
	}
	return norms
}

// reflect returns the rows of x (n×d) each mapped to H·x = H_1(H_2(⋯H_r(x))), where
// H_j = I − 2·û_j·û_jᵀ and û_j is column j of the unit-column matrix uHat (d×r).
//
// It uses the compact WY form of the product (Schreiber and Van Loan): H = I − Û·T·Ûᵀ with T the
// r×r upper-triangular matrix whose inverse is ½·I + triu(ÛᵀÛ, 1). For row-stacked tokens that
// is Y = X − (X·Û)·Tᵀ·Ûᵀ: two thin matrix products, never a d×d matrix.
func reflect(x, uHat mat.Tensor) mat.Tensor {
	_, d := op.Dims(x)
	ud, _ := op.Dims(uHat)
	op.MustShape(d == ud, "hra: tokens have %d features, the reflection vectors %d", d, ud)
	return op.Build(x,
		func() ag.AutoGradFunction { return &reflectFn[float32]{x: x, uHat: uHat} },
		func() ag.AutoGradFunction { return &reflectFn[float64]{x: x, uHat: uHat} })
}

type reflectFn[T float.DType] struct {
	x, uHat mat.Tensor
}

func (f *reflectFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.uHat} }

func (f *reflectFn[T]) Forward() (mat.Tensor, error) {
	n, d := op.Dims(f.x)
	_, r := op.Dims(f.uHat)
	y := make([]T, n*d)
	copy(y, op.Values[T](f.x))
	w := newWY(op.Values[T](f.uHat), d, r, true)
	w.apply(y, n, true)
	return op.NewDense(n, d, y), nil
}

// Backward differentiates Y = X − A·Tᵀ·Ûᵀ with A = X·Û and T = (½·I + triu(ÛᵀÛ, 1))⁻¹, all
// reflections included. With G = ∂L/∂Y, P = (G·Û)·T and C = A·Tᵀ:
// ∂L/∂X = G − P·Ûᵀ; ∂L/∂Û = −Gᵀ·C − Xᵀ·P + Û·(E + Eᵀ), where ∂L/∂T = −(G·Û)ᵀ·A and
// E = triu(−Tᵀ·(∂L/∂T)·Tᵀ, 1) is the gradient with respect to the strict upper triangle of ÛᵀÛ.
func (f *reflectFn[T]) Backward(gy mat.Tensor) error {
	n, d := op.Dims(f.x)
	_, r := op.Dims(f.uHat)
	g, x, u := op.Values[T](gy), op.Values[T](f.x), op.Values[T](f.uHat)
	t := newWY(u, d, r, false).t
	gu := make([]T, n*r) // G·Û
	gemm.Gemm(false, false, n, r, d, 1, g, d, u, r, 0, gu, r)
	p := make([]T, n*r) // (G·Û)·T
	gemm.Gemm(false, false, n, r, r, 1, gu, r, t, r, 0, p, r)
	if f.x.RequiresGrad() {
		gx := make([]T, n*d)
		copy(gx, g)
		gemm.Gemm(false, true, n, d, r, -1, p, r, u, r, 1, gx, d)
		f.x.AccGrad(op.NewDense(n, d, gx))
	}
	if !f.uHat.RequiresGrad() {
		return nil
	}
	a := make([]T, n*r) // X·Û
	gemm.Gemm(false, false, n, r, d, 1, x, d, u, r, 0, a, r)
	c := make([]T, n*r) // A·Tᵀ
	gemm.Gemm(false, true, n, r, r, 1, a, r, t, r, 0, c, r)
	gt := make([]T, r*r) // ∂L/∂T
	gemm.Gemm(true, false, r, r, n, -1, gu, r, a, r, 0, gt, r)
	tgt := make([]T, r*r) // Tᵀ·(∂L/∂T)
	gemm.Gemm(true, false, r, r, r, 1, t, r, gt, r, 0, tgt, r)
	e := make([]T, r*r) // −Tᵀ·(∂L/∂T)·Tᵀ, then its strict upper triangle, symmetrised
	gemm.Gemm(false, true, r, r, r, -1, tgt, r, t, r, 0, e, r)
	for i := 0; i < r; i++ {
		e[i*r+i] = 0
		for j := 0; j < i; j++ {
			e[i*r+j] = e[j*r+i]
		}
	}
	gu2 := make([]T, d*r)
	gemm.Gemm(true, false, d, r, n, -1, g, d, c, r, 0, gu2, r)
	gemm.Gemm(true, false, d, r, n, -1, x, d, p, r, 1, gu2, r)
	gemm.Gemm(false, false, d, r, r, 1, u, r, e, r, 1, gu2, r)
	f.uHat.AccGrad(op.NewDense(d, r, gu2))
	return nil
}

// wy is the compact WY form H = I − V·T·Vᵀ of a product of reflections with unit normals V.
type wy[T float.DType] struct {
	v    []T // d×k, row-major: the unit normals
	t    []T // k×k upper triangular
	d, k int
}

// newWY builds the WY form of H_1⋯H_r from the unit normals u (d×r). With cancel set, adjacent
// reflections with bit-identical normals are left out first, since H_j·H_j = I exactly: this
// keeps the paired init's H = I free of rounding, so the adapter starts bit-identical to the base.
func newWY[T float.DType](u []T, d, r int, cancel bool) wy[T] {
	cols := make([]int, 0, r)
	for j := 0; j < r; j++ {
		if last := len(cols) - 1; cancel && last >= 0 && sameColumn(u, d, r, cols[last], j) {
			cols = cols[:last]
			continue
		}
		cols = append(cols, j)
	}
	k := len(cols)
	v := u
	if k != r {
		v = make([]T, d*k)
		for i := 0; i < d; i++ {
			for c, j := range cols {
				v[i*k+c] = u[i*r+j]
			}
		}
	}
	// T⁻¹ = ½·I + triu(VᵀV, 1), inverted by back substitution in float64.
	s := make([]float64, k*k)
	for i := 0; i < d; i++ {
		row := v[i*k : (i+1)*k]
		for a := 0; a < k; a++ {
			for b := a + 1; b < k; b++ {
				s[a*k+b] += float64(row[a]) * float64(row[b])
			}
		}
	}
	inv := make([]float64, k*k)
	for j := k - 1; j >= 0; j-- { // column j of T solves T⁻¹·t_j = e_j
		inv[j*k+j] = 2
		for i := j - 1; i >= 0; i-- {
			var acc float64
			for l := i + 1; l <= j; l++ {
				acc += s[i*k+l] * inv[l*k+j]
			}
			inv[i*k+j] = -2 * acc
		}
	}
	t := make([]T, k*k)
	for i, val := range inv {
		t[i] = T(val)
	}
	return wy[T]{v: v, t: t, d: d, k: k}
}

func sameColumn[T float.DType](u []T, d, r, a, b int) bool {
	for i := 0; i < d; i++ {
		if u[i*r+a] != u[i*r+b] {
			return false
		}
	}
	return true
}

// apply maps the n rows of x (n×d, in place) to rows of x·Hᵀ = (H·xᵀ)ᵀ when transposed is set,
// and of x·H otherwise: x ← x − (x·V)·Tᵀ·Vᵀ, or with T.
func (w wy[T]) apply(x []T, n int, transposed bool) {
	if w.k == 0 {
		return
	}
	a := make([]T, n*w.k)
	gemm.Gemm(false, false, n, w.k, w.d, 1, x, w.d, w.v, w.k, 0, a, w.k)
	c := make([]T, n*w.k)
	gemm.Gemm(false, transposed, n, w.k, w.k, 1, a, w.k, w.t, w.k, 0, c, w.k)
	gemm.Gemm(false, true, n, w.d, w.k, -1, c, w.k, w.v, w.k, 1, x, w.d)
}

// orthoPenalty returns ‖I − ÛᵀÛ‖²_F for the unit-column matrix uHat, the paper's regulariser.
func orthoPenalty(uHat mat.Tensor) mat.Tensor {
	return op.Build(uHat,
		func() ag.AutoGradFunction { return &orthoPenaltyFn[float32]{uHat: uHat} },
		func() ag.AutoGradFunction { return &orthoPenaltyFn[float64]{uHat: uHat} })
}

type orthoPenaltyFn[T float.DType] struct {
	uHat mat.Tensor
	gram []T // ÛᵀÛ, r×r
}

func (f *orthoPenaltyFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.uHat} }

func (f *orthoPenaltyFn[T]) Forward() (mat.Tensor, error) {
	d, r := op.Dims(f.uHat)
	normals := transpose(op.Values[T](f.uHat), d, r)
	f.gram = make([]T, r*r)
	var p T
	for a := 0; a < r; a++ {
		for b := 0; b < r; b++ {
			g := dot(normals[a*d:(a+1)*d], normals[b*d:(b+1)*d])
			f.gram[a*r+b] = g
			e := g
			if a == b {
				e = 1 - g
			}
			p += e * e
		}
	}
	return op.NewDense(1, 1, []T{p}), nil
}

// Backward: ∂‖I − ÛᵀÛ‖²_F/∂Û = −4·Û·(I − ÛᵀÛ).
func (f *orthoPenaltyFn[T]) Backward(gy mat.Tensor) error {
	if !f.uHat.RequiresGrad() {
		return nil
	}
	d, r := op.Dims(f.uHat)
	scale := -4 * op.Values[T](gy)[0]
	u := op.Values[T](f.uHat)
	g := make([]T, d*r)
	for i := 0; i < d; i++ {
		for b := 0; b < r; b++ {
			var s T
			for a := 0; a < r; a++ {
				m := -f.gram[a*r+b]
				if a == b {
					m += 1
				}
				s += u[i*r+a] * m
			}
			g[i*r+b] = scale * s
		}
	}
	f.uHat.AccGrad(op.NewDense(d, r, g))
	return nil
}

// transpose returns the c×r transpose of the r×c row-major matrix m.
func transpose[T float.DType](m []T, r, c int) []T {
	t := make([]T, len(m))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = m[i*c+j]
		}
	}
	return t
}

func dot[T float.DType](a, b []T) T {
	var s T
	b = b[:len(a)]
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
