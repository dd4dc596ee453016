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
	y := outputBuffer[T](n * d) // every row normalised into it
	f.mean, f.rstd = make([]T, n), make([]T, n)
	Parallel(n, rowWork, func(from, to int) {
		for i := from; i < to; i++ {
			f.mean[i], f.rstd[i] = normalizeRow(y[i*d:(i+1)*d], x[i*d:(i+1)*d], gain, bias, f.eps)
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
		gx := gradBuffer[T](n*d, false)
		Parallel(n, rowWork, func(from, to int) {
			for i := from; i < to; i++ {
				normalizeRowGrad(gx[i*d:(i+1)*d], x[i*d:(i+1)*d], g[i*d:(i+1)*d], gain, f.mean[i], f.rstd[i])
			}
		})
		accGrad(f.x, gx)
	}
	if f.gain.RequiresGrad() || f.bias.RequiresGrad() {
		ggain, gbias := gradBuffer[T](d, true), gradBuffer[T](d, true)
		for i := 0; i < n; i++ {
			accumulateAffineGrad(ggain, gbias, x[i*d:(i+1)*d], g[i*d:(i+1)*d], f.mean[i], f.rstd[i])
		}
		if f.gain.RequiresGrad() {
			accGrad(f.gain, ggain)
		}
		if f.bias.RequiresGrad() {
			accGrad(f.bias, gbias)
		}
	}
	return nil
}

// normalizeRow sets out to the normalised row times gain plus bias and returns the row's mean and
// 1/std; out may be row itself.
func normalizeRow[T float.DType](out, row, gain, bias []T, eps float64) (T, T) {
	if r32, ok := any(row).([]float32); ok {
		if mean, rstd, ok := normalizeRow32(any(out).([]float32), r32, any(gain).([]float32), any(bias).([]float32), eps); ok {
			return T(mean), T(rstd)
		}
	}
	var sum float64
	for _, v := range row {
		sum += float64(v)
	}
	mean := sum / float64(len(row))
	var sq float64
	for _, v := range row {
		c := float64(v) - mean
		sq += c * c
	}
	rstd := 1 / math.Sqrt(sq/float64(len(row))+eps)
	for j, v := range row {
		out[j] = (v-T(mean))*T(rstd)*gain[j] + bias[j]
	}
	return T(mean), T(rstd)
}

// normalizeRowGrad sets out to ∂L/∂row given the upstream gradient grow, with x̂ the normalised
// row and ĝ = grow⊙gain: rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)).
func normalizeRowGrad[T float.DType](out, row, grow, gain []T, mean, rstd T) {
	if r32, ok := any(row).([]float32); ok &&
		normalizeRowGrad32(any(out).([]float32), r32, any(grow).([]float32), any(gain).([]float32), float32(mean), float32(rstd)) {
		return
	}
	var sg, sgx T
	for j, v := range row {
		gh := grow[j] * gain[j]
		sg += gh
		sgx += gh * (v - mean) * rstd
	}
	sg /= T(len(row))
	sgx /= T(len(row))
	for j, v := range row {
		out[j] = rstd * (grow[j]*gain[j] - sg - (v-mean)*rstd*sgx)
	}
}

// accumulateAffineGrad adds one row's share of ∂L/∂gain = Σ g⊙x̂ and ∂L/∂bias = Σ g.
func accumulateAffineGrad[T float.DType](ggain, gbias, row, grow []T, mean, rstd T) {
	full, g32 := vector32(ggain[:len(row)])
	if full > 0 {
		affineGradAVX(full, &g32[0], &f32(gbias, full)[0], &f32(row, full)[0], &f32(grow, full)[0], float32(mean), float32(rstd))
	}
	for j := full; j < len(row); j++ {
		v := row[j]
		ggain[j] += grow[j] * (v - mean) * rstd
		gbias[j] += grow[j]
	}
}
