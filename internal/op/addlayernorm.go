package op

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// AddLayerNorm returns LayerNorm(a + x, gain, bias, eps), the residual connection and
// normalisation that close each half of a BERT layer, as one node. Values and gradients are those
// of LayerNorm(ag.Add(a, x), …), bit for bit, without the n×d sum node and its gradient: the
// backward recomputes the sum, which costs less than keeping it. a and x must be different nodes.
func AddLayerNorm(a, x, gain, bias mat.Tensor, eps float64) mat.Tensor {
	MustShape(a != x, "AddLayerNorm: a and x are the same node")
	n, d := Dims(x)
	an, ad := Dims(a)
	MustShape(an == n && ad == d, "AddLayerNorm: a is %d×%d, x %d×%d", an, ad, n, d)
	MustShape(gain.Value().Size() == d && bias.Value().Size() == d,
		"AddLayerNorm: x is %d×%d, gain has %d elements, bias %d", n, d, gain.Value().Size(), bias.Value().Size())
	return Build(x,
		func() ag.AutoGradFunction {
			return &addLayerNorm[float32]{a: a, x: x, gain: gain, bias: bias, eps: eps}
		},
		func() ag.AutoGradFunction {
			return &addLayerNorm[float64]{a: a, x: x, gain: gain, bias: bias, eps: eps}
		})
}

type addLayerNorm[T float.DType] struct {
	a, x, gain, bias mat.Tensor
	eps              float64
	mean, rstd       []T // per row of a + x: the mean and 1/√(variance + eps)
}

func (f *addLayerNorm[T]) Operands() []mat.Tensor {
	return []mat.Tensor{f.a, f.x, f.gain, f.bias}
}

// sumRow writes row i of a + x into dst.
func sumRow[T float.DType](dst, a, x []T, i, d int) {
	x = x[i*d : (i+1)*d]
	for j, v := range a[i*d : (i+1)*d] {
		dst[j] = v + x[j]
	}
}

// Forward normalises as LayerNorm's forward does, on each row of a + x.
func (f *addLayerNorm[T]) Forward() (mat.Tensor, error) {
	n, d := Dims(f.x)
	a, x := Values[T](f.a), Values[T](f.x)
	gain, bias := Values[T](f.gain), Values[T](f.bias)
	y := make([]T, n*d)
	f.mean, f.rstd = make([]T, n), make([]T, n)
	Parallel(n, rowWork, func(from, to int) {
		for i := from; i < to; i++ {
			out := y[i*d : (i+1)*d]
			sumRow(out, a, x, i, d)
			var sum float64
			for _, v := range out {
				sum += float64(v)
			}
			mean := sum / float64(d)
			var sq float64
			for _, v := range out {
				c := float64(v) - mean
				sq += c * c
			}
			rstd := 1 / math.Sqrt(sq/float64(d)+f.eps)
			f.mean[i], f.rstd[i] = T(mean), T(rstd)
			for j, v := range out {
				out[j] = (v-T(mean))*T(rstd)*gain[j] + bias[j]
			}
		}
	})
	return NewDense(n, d, y), nil
}

// Backward is LayerNorm's on the recomputed sum s = a + x (see layerNorm.Backward); a and x both
// receive ∂L/∂s.
func (f *addLayerNorm[T]) Backward(gy mat.Tensor) error {
	n, d := Dims(f.x)
	a, x, g := Values[T](f.a), Values[T](f.x), Values[T](gy)
	gain := Values[T](f.gain)
	needGain, needBias := f.gain.RequiresGrad(), f.bias.RequiresGrad()
	needSum := f.a.RequiresGrad() || f.x.RequiresGrad()
	var gs, ggain, gbias []T
	if needSum {
		gs = make([]T, n*d)
	}
	if needGain || needBias {
		ggain, gbias = make([]T, d), make([]T, d)
	}
	if needSum {
		Parallel(n, rowWork, func(from, to int) {
			row := make([]T, d)
			for i := from; i < to; i++ {
				sumRow(row, a, x, i, d)
				mean, rstd := f.mean[i], f.rstd[i]
				grow, out := g[i*d:(i+1)*d], gs[i*d:(i+1)*d]
				var sg, sgx T
				for j, v := range row {
					gh := grow[j] * gain[j]
					sg += gh
					sgx += gh * (v - mean) * rstd
				}
				sg /= T(d)
				sgx /= T(d)
				for j, v := range row {
					out[j] = rstd * (grow[j]*gain[j] - sg - (v-mean)*rstd*sgx)
				}
			}
		})
	}
	if ggain != nil {
		row := make([]T, d)
		for i := 0; i < n; i++ {
			sumRow(row, a, x, i, d)
			mean, rstd := f.mean[i], f.rstd[i]
			for j, v := range row {
				ggain[j] += g[i*d+j] * (v - mean) * rstd
				gbias[j] += g[i*d+j]
			}
		}
		if needGain {
			f.gain.AccGrad(mat.NewDense[T](mat.WithShape(f.gain.Value().Shape()...), mat.WithBacking(ggain)))
		}
		if needBias {
			f.bias.AccGrad(mat.NewDense[T](mat.WithShape(f.bias.Value().Shape()...), mat.WithBacking(gbias)))
		}
	}
	if f.a.RequiresGrad() {
		f.a.AccGrad(NewDense(n, d, gs))
	}
	if f.x.RequiresGrad() {
		f.x.AccGrad(NewDense(n, d, gs))
	}
	return nil
}
