package op

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
)

// LayerNorm normalises each row of x (n×d) to zero mean and unit variance, with the biased
// variance plus eps under the square root as in PyTorch, then scales by gain and shifts by bias
// (d elements each).
func LayerNorm(x, gain, bias mat.Tensor, eps float64) mat.Tensor {
	n, d := Dims(x)
	MustShape(gain.Value().Size() == d && bias.Value().Size() == d,
		"LayerNorm: x is %d×%d, gain has %d elements, bias %d", n, d, gain.Value().Size(), bias.Value().Size())
	return Build(x,
		func() ag.AutoGradFunction { return &layerNorm[float32]{x: x, gain: gain, bias: bias, eps: eps} },
		func() ag.AutoGradFunction { return &layerNorm[float64]{x: x, gain: gain, bias: bias, eps: eps} })
}

type layerNorm[T float.DType] struct {
	x, gain, bias mat.Tensor
	eps           float64
	mean, rstd    []T // per row: the mean and 1/√(variance + eps)
}

func (f *layerNorm[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.gain, f.bias} }

// rowWork is the number of rows below which a row-wise operator runs on one goroutine.
const rowWork = 64

func (f *layerNorm[T]) Forward() (mat.Tensor, error) {
	n, d := Dims(f.x)
	x := Values[T](f.x)
	gain, bias := Values[T](f.gain), Values[T](f.bias)
	y := make([]T, n*d)
	f.mean, f.rstd = make([]T, n), make([]T, n)
	Parallel(n, rowWork, func(from, to int) {
		for i := from; i < to; i++ {
			row := x[i*d : (i+1)*d]
			var sum float64
			for _, v := range row {
				sum += float64(v)
			}
			mean := sum / float64(d)
			var sq float64
			for _, v := range row {
				c := float64(v) - mean
				sq += c * c
			}
			rstd := 1 / math.Sqrt(sq/float64(d)+f.eps)
			f.mean[i], f.rstd[i] = T(mean), T(rstd)
			out := y[i*d : (i+1)*d]
			for j, v := range row {
				out[j] = (v-T(mean))*T(rstd)*gain[j] + bias[j]
			}
		}
	})
	return NewDense(n, d, y), nil
}

// Backward: with x̂ the normalised row and ĝ = g⊙gain, ∂L/∂x = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂));
// ∂L/∂gain = Σ_rows g⊙x̂ and ∂L/∂bias = Σ_rows g.
func (f *layerNorm[T]) Backward(gy mat.Tensor) error {
	n, d := Dims(f.x)
	x, g := Values[T](f.x), Values[T](gy)
	gain := Values[T](f.gain)
	if f.x.RequiresGrad() {
		gx := make([]T, n*d)
		Parallel(n, rowWork, func(from, to int) {
			for i := from; i < to; i++ {
				mean, rstd := f.mean[i], f.rstd[i]
				row, grow, out := x[i*d:(i+1)*d], g[i*d:(i+1)*d], gx[i*d:(i+1)*d]
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
		f.x.AccGrad(NewDense(n, d, gx))
	}
	if f.gain.RequiresGrad() || f.bias.RequiresGrad() {
		ggain, gbias := make([]T, d), make([]T, d)
		for i := 0; i < n; i++ {
			mean, rstd := f.mean[i], f.rstd[i]
			for j, v := range x[i*d : (i+1)*d] {
				ggain[j] += g[i*d+j] * (v - mean) * rstd
				gbias[j] += g[i*d+j]
			}
		}
		if f.gain.RequiresGrad() {
			f.gain.AccGrad(mat.NewDense[T](mat.WithShape(f.gain.Value().Shape()...), mat.WithBacking(ggain)))
		}
		if f.bias.RequiresGrad() {
			f.bias.AccGrad(mat.NewDense[T](mat.WithShape(f.bias.Value().Shape()...), mat.WithBacking(gbias)))
		}
	}
	return nil
}
