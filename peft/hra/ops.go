package hra

import (
	"math"
	"slices"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
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
	y       []T // the output, from which backward recovers every intermediate
	normals []T // Ûᵀ (r×d): row j is û_j, contiguous
}

func (f *reflectFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.uHat} }

// rowWork is the number of rows below which reflecting runs on one goroutine.
const rowWork = 16

func (f *reflectFn[T]) Forward() (mat.Tensor, error) {
	n, d := op.Dims(f.x)
	_, r := op.Dims(f.uHat)
	f.normals = transpose(op.Values[T](f.uHat), d, r)
	f.y = make([]T, n*d)
	copy(f.y, op.Values[T](f.x))
	order := reflectionOrder(f.normals, r, d, false)
	op.Parallel(n, rowWork, func(from, to int) {
		reflectRows(f.y[from*d:to*d], d, f.normals, order)
	})
	return op.NewDense(n, d, f.y), nil
}

// Backward walks all reflections, cancelled pairs included, in the order opposite to Forward's.
// Each reflection is its own inverse, so the input of reflection j is recovered from its output as
// H_j·y instead of being kept from the forward pass. For y = x − 2⟨û,x⟩û and upstream gradient g:
// ∂L/∂x = g − 2⟨û,g⟩û and ∂L/∂û = −2(⟨û,g⟩·x + ⟨û,x⟩·g).
func (f *reflectFn[T]) Backward(gy mat.Tensor) error {
	n, d := op.Dims(f.x)
	_, r := op.Dims(f.uHat)
	gx := make([]T, n*d)
	copy(gx, op.Values[T](gy))
	needU := f.uHat.RequiresGrad()
	var mu sync.Mutex
	gn := make([]T, r*d) // row j: ∂L/∂û_j, summed over tokens
	op.Parallel(n, rowWork, func(from, to int) {
		part := make([]T, r*d)
		y := make([]T, d)
		for i := from; i < to; i++ {
			copy(y, f.y[i*d:(i+1)*d])
			g := gx[i*d : (i+1)*d]
			for j := 0; j < r; j++ {
				u := f.normals[j*d : (j+1)*d]
				uy := dot(u, y)
				axpy(-2*uy, u, y) // y is now the input x of reflection j, and ⟨û,x⟩ = −⟨û,y⟩
				ug := dot(u, g)
				if needU {
					pj := part[j*d : (j+1)*d]
					axpy(-2*ug, y, pj)
					axpy(2*uy, g, pj)
				}
				axpy(-2*ug, u, g)
			}
		}
		mu.Lock()
		axpy(1, part, gn)
		mu.Unlock()
	})
	if f.x.RequiresGrad() {
		f.x.AccGrad(op.NewDense(n, d, gx))
	}
	if needU {
		f.uHat.AccGrad(op.NewDense(d, r, transpose(gn, r, d)))
	}
	return nil
}

// reflectionOrder returns the indices of the reflections whose unit normals are the rows of
// normals (r×d) in the order they act on a token: r−1 down to 0 for x ← H·x, or 0 up to r−1 for
// x ← Hᵀ·x when reverse is set. Adjacent reflections with bit-identical normals are left out:
// H_j·H_j = I exactly, and skipping them keeps the paired init's H = I free of rounding.
func reflectionOrder[T float.DType](normals []T, r, d int, reverse bool) []int {
	order := make([]int, 0, r)
	for k := 0; k < r; k++ {
		j := r - 1 - k
		if reverse {
			j = k
		}
		if last := len(order) - 1; last >= 0 && slices.Equal(normals[j*d:(j+1)*d], normals[order[last]*d:(order[last]+1)*d]) {
			order = order[:last]
			continue
		}
		order = append(order, j)
	}
	return order
}

// reflectRows applies the reflections listed in order, whose unit normals are rows of normals, to
// each row of x (row-major, d columns).
func reflectRows[T float.DType](x []T, d int, normals []T, order []int) {
	for i := 0; i+d <= len(x); i += d {
		row := x[i : i+d]
		for _, j := range order {
			u := normals[j*d : (j+1)*d]
			axpy(-2*dot(u, row), u, row)
		}
	}
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

// axpy sets y ← y + alpha·x.
func axpy[T float.DType](alpha T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
