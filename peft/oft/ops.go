package oft

import (
	"slices"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// rotate returns the rows of x (n×in) with each block of f.b features multiplied on the right by
// PEFT's block matrix A built from a row of params: block k uses row k, or row 0 when params has a
// single row (block share). Blocks marked in dropped (nil for none) pass through unchanged, as
// module dropout wants; they send no gradient to params.
func rotate(x, params mat.Tensor, f form, dropped []bool) mat.Tensor {
	n, in := op.Dims(x)
	rows, m := op.Dims(params)
	op.MustShape(in%f.b == 0, "oft: tokens have %d features, not a multiple of the block size %d", in, f.b)
	blocks := in / f.b
	op.MustShape(rows == blocks || rows == 1, "oft: %d parameter rows for %d blocks of the %d×%d tokens", rows, blocks, n, in)
	op.MustShape(m == pairs(f.b), "oft: parameter rows have %d values, a %d×%d block needs %d", m, f.b, f.b, pairs(f.b))
	op.MustShape(dropped == nil || len(dropped) == blocks, "oft: dropout mask of %d blocks for %d", len(dropped), blocks)
	return op.Build(x,
		func() ag.AutoGradFunction { return &rotateFn[float32]{x: x, p: params, f: f, dropped: dropped} },
		func() ag.AutoGradFunction { return &rotateFn[float64]{x: x, p: params, f: f, dropped: dropped} })
}

type rotateFn[T float.DType] struct {
	x, p    mat.Tensor
	f       form
	dropped []bool
	a       [][]T        // per parameter row: A, b×b
	ident   []bool       // per parameter row: A is exactly I, so its blocks are copied
	states  []blockState // per parameter row: what the gradient through A needs
}

func (f *rotateFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.p} }

// row returns the parameter row of block k.
func (f *rotateFn[T]) row(k int) int {
	if len(f.a) == 1 {
		return 0
	}
	return k
}

// chunk returns how many blocks one goroutine takes, so that each has some 64k multiply-adds.
func (f *rotateFn[T]) chunk(n int) int {
	return max(1, (1<<16)/max(1, n*f.f.b*f.f.b))
}

func (f *rotateFn[T]) Forward() (mat.Tensor, error) {
	n, in := op.Dims(f.x)
	rows, m := op.Dims(f.p)
	b := f.f.b
	params := op.Values[T](f.p)
	f.a = make([][]T, rows)
	f.ident = make([]bool, rows)
	f.states = make([]blockState, rows)
	op.Parallel(rows, 1, func(from, to int) {
		for j := from; j < to; j++ {
			a, st := f.f.matrix(toFloat64(params[j*m : (j+1)*m]))
			f.a[j], f.ident[j], f.states[j] = fromFloat64[T](a), isIdentity(a, b), st
		}
	})
	xs := op.Values[T](f.x)
	y := make([]T, n*in)
	op.Parallel(in/b, f.chunk(n), func(from, to int) {
		for k := from; k < to; k++ {
			if j := f.row(k); f.passes(k, j) {
				copyColumns(y, xs, n, in, k*b, b)
			} else {
				gemm.Gemm(false, false, n, b, b, 1, xs[k*b:], in, f.a[j], b, 0, y[k*b:], in)
			}
		}
	})
	return op.NewDense(n, in, y), nil
}

// passes reports whether block k, of parameter row j, leaves tokens unchanged.
func (f *rotateFn[T]) passes(k, j int) bool {
	return f.ident[j] || (f.dropped != nil && f.dropped[k])
}

// Backward: for Y_k = X_k·A, ∂L/∂X_k = G_k·Aᵀ and ∂L/∂A = Σ_k X_kᵀ·G_k over the blocks k that use
// A and were not dropped; form.grad carries ∂L/∂A back to the packed parameters.
func (f *rotateFn[T]) Backward(gy mat.Tensor) error {
	n, in := op.Dims(f.x)
	rows, m := op.Dims(f.p)
	b := f.f.b
	blocks := in / b
	g := op.Values[T](gy)
	xs := op.Values[T](f.x)
	needX, needP := f.x.RequiresGrad(), f.p.RequiresGrad()
	var gx, ga []T
	if needX {
		gx = make([]T, n*in)
	}
	if needP {
		ga = make([]T, blocks*b*b) // ∂L/∂A of each block position
	}
	op.Parallel(blocks, f.chunk(n), func(from, to int) {
		for k := from; k < to; k++ {
			j := f.row(k)
			if needX {
				if f.passes(k, j) {
					copyColumns(gx, g, n, in, k*b, b)
				} else {
					gemm.Gemm(false, true, n, b, b, 1, g[k*b:], in, f.a[j], b, 0, gx[k*b:], in)
				}
			}
			if needP && (f.dropped == nil || !f.dropped[k]) {
				gemm.Gemm(true, false, b, b, n, 1, xs[k*b:], in, g[k*b:], in, 0, ga[k*b*b:(k+1)*b*b], b)
			}
		}
	})
	if needX {
		f.x.AccGrad(op.NewDense(n, in, gx))
	}
	if needP {
		gp := make([]T, rows*m)
		op.Parallel(rows, 1, func(from, to int) {
			for j := from; j < to; j++ {
				gaj := make([]float64, b*b)
				used := false
				for k := 0; k < blocks; k++ {
					if f.row(k) != j || (f.dropped != nil && f.dropped[k]) {
						continue
					}
					used = true
					for i, v := range ga[k*b*b : (k+1)*b*b] {
						gaj[i] += float64(v)
					}
				}
				if used {
					copy(gp[j*m:(j+1)*m], fromFloat64[T](f.f.grad(gaj, f.states[j])))
				}
			}
		})
		f.p.AccGrad(op.NewDense(rows, m, gp))
	}
	return nil
}

// copyColumns copies columns [c, c+w) of the n×ld row-major src into dst.
func copyColumns[T float.DType](dst, src []T, n, ld, c, w int) {
	for i := 0; i < n; i++ {
		copy(dst[i*ld+c:i*ld+c+w], src[i*ld+c:i*ld+c+w])
	}
}

// isIdentity reports whether the b×b matrix a is exactly I.
func isIdentity(a []float64, b int) bool {
	id := addIdentity(make([]float64, b*b), 1, b)
	return slices.Equal(a, id)
}

func toFloat64[T float.DType](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func fromFloat64[T float.DType](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}
