package oft

import (
	"slices"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// rotation holds PEFT's block matrices for one value of R, and what their gradient needs: the
// Cayley map of every parameter row, computed once and shared by every forward (and backward)
// that sees R unchanged, such as the sub-batches of one training step.
type rotation[T float.DType] struct {
	params []T          // the values of R it was built from
	a      [][]T        // per parameter row: A, b×b
	ident  []bool       // per parameter row: the row is zero, so A = I and its blocks are copied
	states []blockState // per parameter row: what the gradient through A needs
}

// newRotation builds the block matrices of the rows×m parameters, the rows split across the
// cores.
func newRotation[T float.DType](params []T, rows, m int, f form) *rotation[T] {
	r := &rotation[T]{params: slices.Clone(params), a: make([][]T, rows), ident: make([]bool, rows), states: make([]blockState, rows)}
	op.Parallel(rows, 1, func(from, to int) {
		for j := from; j < to; j++ {
			p := params[j*m : (j+1)*m]
			a, st := f.matrix(toFloat64(p))
			r.a[j], r.ident[j], r.states[j] = fromFloat64[T](a), isZero(p), st
		}
	})
	return r
}

// rotationCache switches the reuse of a Model's last rotation; SetRotationCache sets it.
var rotationCache = true

// SetRotationCache turns on or off the reuse of the block matrices while R is unchanged (off:
// every forward computes them anew, as before), and returns whether it was on; for benchmarks
// that compare both in one process. The results are the same either way. Call it only while no
// OFT layer runs.
func SetRotationCache(on bool) (was bool) {
	was, rotationCache = rotationCache, on
	return was
}

// cachedRotation returns the rotation of m's current R: the last one built when R has not changed
// since, else a new one, kept for the next call. The caller holds m.mu.
func cachedRotation[T float.DType](m *Model) *rotation[T] {
	params := op.Values[T](m.R)
	if r, ok := m.rotation.(*rotation[T]); ok && rotationCache && slices.Equal(r.params, params) {
		return r
	}
	rows, cols := op.Dims(m.R)
	r := newRotation(params, rows, cols, m.form)
	m.rotation = r
	return r
}

// rotate returns the rows of x (n×in) with each block of f.b features multiplied on the right by
// PEFT's block matrix A built from a row of params: block k uses row k, or row 0 when params has a
// single row (block share). Blocks marked in dropped (nil for none) pass through unchanged, as
// module dropout wants; they send no gradient to params. rot, a *rotation of the element type,
// holds the block matrices of params' current values; nil, the forward builds them.
func rotate(x, params mat.Tensor, f form, dropped []bool, rot any) mat.Tensor {
	n, in := op.Dims(x)
	rows, m := op.Dims(params)
	op.MustShape(in%f.b == 0, "oft: tokens have %d features, not a multiple of the block size %d", in, f.b)
	blocks := in / f.b
	op.MustShape(rows == blocks || rows == 1, "oft: %d parameter rows for %d blocks of the %d×%d tokens", rows, blocks, n, in)
	op.MustShape(m == pairs(f.b), "oft: parameter rows have %d values, a %d×%d block needs %d", m, f.b, f.b, pairs(f.b))
	op.MustShape(dropped == nil || len(dropped) == blocks, "oft: dropout mask of %d blocks for %d", len(dropped), blocks)
	return op.Build(x,
		func() ag.AutoGradFunction {
			r, _ := rot.(*rotation[float32])
			return &rotateFn[float32]{x: x, p: params, f: f, dropped: dropped, rot: r}
		},
		func() ag.AutoGradFunction {
			r, _ := rot.(*rotation[float64])
			return &rotateFn[float64]{x: x, p: params, f: f, dropped: dropped, rot: r}
		})
}

type rotateFn[T float.DType] struct {
	x, p    mat.Tensor
	f       form
	dropped []bool
	rot     *rotation[T]
}

func (f *rotateFn[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.p} }

// row returns the parameter row of block k.
func (f *rotateFn[T]) row(k int) int {
	if len(f.rot.a) == 1 {
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
	b := f.f.b
	if f.rot == nil {
		rows, m := op.Dims(f.p)
		f.rot = newRotation(op.Values[T](f.p), rows, m, f.f)
	}
	xs := op.Values[T](f.x)
	y := make([]T, n*in)
	op.Parallel(in/b, f.chunk(n), func(from, to int) {
		for k := from; k < to; k++ {
			if j := f.row(k); f.passes(k, j) {
				copyColumns(y, xs, n, in, k*b, b)
			} else {
				gemm.Gemm(false, false, n, b, b, 1, xs[k*b:], in, f.rot.a[j], b, 0, y[k*b:], in)
			}
		}
	})
	return op.NewDense(n, in, y), nil
}

// passes reports whether block k, of parameter row j, leaves tokens unchanged.
func (f *rotateFn[T]) passes(k, j int) bool {
	return f.rot.ident[j] || (f.dropped != nil && f.dropped[k])
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
		gx = op.GradBuffer[T](n*in, false) // every block is written
	}
	if needP {
		ga = op.GradBuffer[T](blocks*b*b, false) // ∂L/∂A of each block position; dropped ones unread
	}
	op.Parallel(blocks, f.chunk(n), func(from, to int) {
		for k := from; k < to; k++ {
			j := f.row(k)
			if needX {
				if f.passes(k, j) {
					copyColumns(gx, g, n, in, k*b, b)
				} else {
					gemm.Gemm(false, true, n, b, b, 1, g[k*b:], in, f.rot.a[j], b, 0, gx[k*b:], in)
				}
			}
			if needP && (f.dropped == nil || !f.dropped[k]) {
				gemm.Gemm(true, false, b, b, n, 1, xs[k*b:], in, g[k*b:], in, 0, ga[k*b*b:(k+1)*b*b], b)
			}
		}
	})
	if needX {
		op.AccGrad(f.x, gx)
	}
	if needP {
		gp := op.GradBuffer[T](rows*m, true)
		op.Parallel(rows, 1, func(from, to int) {
			gaj := make([]float64, b*b)
			for j := from; j < to; j++ {
				clear(gaj)
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
					for i, v := range f.f.grad(gaj, f.rot.states[j]) {
						gp[j*m+i] = T(v)
					}
				}
			}
		})
		op.ReleaseGradBuffer(ga)
		op.AccGrad(f.p, gp)
	}
	return nil
}

// copyColumns copies columns [c, c+w) of the n×ld row-major src into dst.
func copyColumns[T float.DType](dst, src []T, n, ld, c, w int) {
	for i := 0; i < n; i++ {
		copy(dst[i*ld+c:i*ld+c+w], src[i*ld+c:i*ld+c+w])
	}
}

// isZero reports whether every parameter of a row is zero, so that Q = 0 and A = I exactly.
func isZero[T float.DType](p []T) bool {
	for _, v := range p {
		if v != 0 {
			return false
		}
	}
	return true
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
