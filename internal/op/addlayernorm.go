package op

import (
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// AddLayerNorm returns LayerNorm(dropout(a) + x, gain, bias, eps): the dropout, residual
// connection and normalisation that close each half of a BERT layer, as one node. Dropout zeroes
// each element of a with probability p and scales the others by 1/(1−p), drawing from rng exactly
// as Dropout does; p = 0 keeps a whole and leaves rng unused (it may be nil). Values and gradients
// are those of LayerNorm(ag.Add(Dropout(a, p, rng), x), …), bit for bit, without the dropout and
// sum nodes and their gradients: the backward recomputes the sum, which costs less than keeping
// it. a and x must be different nodes.
func AddLayerNorm(a, x, gain, bias mat.Tensor, eps, p float64, rng rand.Source) mat.Tensor {
	MustShape(a != x, "AddLayerNorm: a and x are the same node")
	MustShape(p >= 0 && p < 1 && (p == 0 || rng != nil), "AddLayerNorm: dropout probability %g outside [0, 1) or without a generator", p)
	n, d := Dims(x)
	an, ad := Dims(a)
	MustShape(an == n && ad == d, "AddLayerNorm: a is %d×%d, x %d×%d", an, ad, n, d)
	MustShape(gain.Value().Size() == d && bias.Value().Size() == d,
		"AddLayerNorm: x is %d×%d, gain has %d elements, bias %d", n, d, gain.Value().Size(), bias.Value().Size())
	return Build(x,
		func() ag.AutoGradFunction {
			return &addLayerNorm[float32]{a: a, x: x, gain: gain, bias: bias, eps: eps, mask: dropoutMask[float32](n*d, p, rng)}
		},
		func() ag.AutoGradFunction {
			return &addLayerNorm[float64]{a: a, x: x, gain: gain, bias: bias, eps: eps, mask: dropoutMask[float64](n*d, p, rng)}
		})
}

// dropoutMask returns size values, each 0 with probability p and 1/(1−p) otherwise, drawn as
// Dropout draws them, or nil when p is 0. It takes a recycled buffer, which it overwrites
// whole; an operator that needs the mask only in its Forward gives it back there
// (releaseScratch).
func dropoutMask[T float.DType](size int, p float64, rng rand.Source) []T {
	if p == 0 {
		return nil
	}
	mask := scratchBuffer[T](size)
	fillDropoutMask(mask, p, rng)
	return mask
}

type addLayerNorm[T float.DType] struct {
	a, x, gain, bias mat.Tensor
	eps              float64
	mask             []T // dropout's factor per element of a, 0 or 1/(1−p); nil without dropout
	mean, rstd       []T // per row of dropout(a) + x: the mean and 1/√(variance + eps)
}

func (f *addLayerNorm[T]) Operands() []mat.Tensor {
	return []mat.Tensor{f.a, f.x, f.gain, f.bias}
}

// sumRow writes row i of dropout(a) + x into dst, rounding as Dropout and then Add do.
func (f *addLayerNorm[T]) sumRow(dst, a, x []T, i, d int) {
	a, x, dst = a[i*d:(i+1)*d], x[i*d:(i+1)*d], dst[:d]
	if f.mask == nil {
		addVec(dst, a, x)
		return
	}
	dropAddVec(dst, a, f.mask[i*d:(i+1)*d], x)
}

// Forward normalises as LayerNorm's forward does, on each row of dropout(a) + x.
func (f *addLayerNorm[T]) Forward() (mat.Tensor, error) {
	n, d := Dims(f.x)
	a, x := Values[T](f.a), Values[T](f.x)
	gain, bias := Values[T](f.gain), Values[T](f.bias)
	y := outputBuffer[T](n * d) // every row: the sum, then normalised in place
	f.mean, f.rstd = make([]T, n), make([]T, n)
	Parallel(n, rowWork, func(from, to int) {
		for i := from; i < to; i++ {
			out := y[i*d : (i+1)*d]
			f.sumRow(out, a, x, i, d)
			f.mean[i], f.rstd[i] = normalizeRow(out, out, gain, bias, f.eps)
		}
	})
	if f.mask != nil && !f.a.RequiresGrad() && !f.x.RequiresGrad() && !f.gain.RequiresGrad() && !f.bias.RequiresGrad() {
		// No backward pass will read the mask (training a head on a frozen encoder).
		releaseScratch(f.mask)
		f.mask = nil
	}
	return NewDense(n, d, y), nil
}

// Backward is LayerNorm's on the recomputed sum s = dropout(a) + x (see layerNorm.Backward): x
// receives ∂L/∂s and a receives ∂L/∂s times dropout's mask.
func (f *addLayerNorm[T]) Backward(gy mat.Tensor) error {
	n, d := Dims(f.x)
	a, x, g := Values[T](f.a), Values[T](f.x), Values[T](gy)
	gain := Values[T](f.gain)
	needGain, needBias := f.gain.RequiresGrad(), f.bias.RequiresGrad()
	needSum := f.a.RequiresGrad() || f.x.RequiresGrad()
	var gs, ggain, gbias []T
	if needSum {
		gs = gradBuffer[T](n*d, false)
	}
	if needGain || needBias {
		ggain, gbias = gradBuffer[T](d, true), gradBuffer[T](d, true)
	}
	if needSum {
		Parallel(n, rowWork, func(from, to int) {
			row := make([]T, d)
			for i := from; i < to; i++ {
				f.sumRow(row, a, x, i, d)
				normalizeRowGrad(gs[i*d:(i+1)*d], row, g[i*d:(i+1)*d], gain, f.mean[i], f.rstd[i])
			}
		})
	}
	if ggain != nil {
		row := make([]T, d)
		for i := 0; i < n; i++ {
			f.sumRow(row, a, x, i, d)
			accumulateAffineGrad(ggain, gbias, row, g[i*d:(i+1)*d], f.mean[i], f.rstd[i])
		}
		if needGain {
			accGrad(f.gain, ggain)
		}
		if needBias {
			accGrad(f.bias, gbias)
		}
	}
	if f.x.RequiresGrad() {
		f.x.AccGrad(NewDense(n, d, gs))
	}
	if f.a.RequiresGrad() {
		if f.mask != nil {
			for i, m := range f.mask {
				gs[i] *= m
			}
		}
		f.a.AccGrad(NewDense(n, d, gs))
	}
	if copiesGrad[T](f.x) && copiesGrad[T](f.a) {
		release(gs) // both have taken it
	}
	return nil
}
