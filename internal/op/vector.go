package op

import (
	"math"

	"github.com/nlpodyssey/spago/mat/float"
)

// vectorFloat32 selects the float32 assembly kernels; SetVectorKernels switches them.
var vectorFloat32 = vectorCapable

// SetVectorKernels turns the float32 assembly kernels (GELU, softmax, LayerNorm's rows and the
// element-wise loops of the backward passes) on, where the CPU has AVX2 and FMA, or off, and
// returns whether they were on: for benchmarks that compare both within one process. Call it
// only while no operator runs.
func SetVectorKernels(on bool) (was bool) {
	was, vectorFloat32 = vectorFloat32, on && vectorCapable
	return was
}

// geluInto sets y[i] = GELU(x[i]) = x·Φ(x) and, unless d is nil, d[i] = GELU'(x[i]) =
// Φ(x) + x·φ(x); y may be x. float32 runs eight values at a time in assembly where the CPU has
// AVX2 and FMA (relative error of a few float32 ulps: see TestGELUKernelAccuracy), else through
// fastNormal; float64 through exactNormal. Each element's result depends on its value alone, so
// any split of the work gives the same bits.
func geluInto[T float.DType](y, d, x []T) {
	if x32, ok := any(x).([]float32); ok && vectorFloat32 {
		gelu32(any(y).([]float32), any(d).([]float32), x32)
		return
	}
	normal := exactNormal
	if _, single := any(x).([]float32); single {
		normal = fastNormal
	}
	for i, v := range x {
		u := float64(v)
		cdf, pdf := normal(u)
		y[i] = T(u * cdf)
		if d != nil {
			d[i] = T(cdf + u*pdf)
		}
	}
}

// gelu32 runs geluAVX on x, the last len(x) mod 8 values through a padded block.
func gelu32(y, d, x []float32) {
	full := len(x) &^ 7
	if full > 0 {
		_, _ = y[full-1], x[full-1]
		var dp *float32
		if d != nil {
			_ = d[full-1]
			dp = &d[0]
		}
		geluAVX(full, &x[0], &y[0], dp)
	}
	if full == len(x) {
		return
	}
	var bx, by, bd [8]float32
	n := copy(bx[:], x[full:])
	var dp *float32
	if d != nil {
		dp = &bd[0]
	}
	geluAVX(8, &bx[0], &by[0], dp)
	copy(y[full:], by[:n])
	if d != nil {
		copy(d[full:], bd[:n])
	}
}

// softmax replaces x by exp(x − max x) / Σ exp(x − max x); float32 runs its exponentials eight
// at a time in assembly where the CPU has AVX2 and FMA (within the error of the float32 sum:
// see TestSoftmaxFloat32Accuracy).
func softmax[T float.DType](x []T) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum T
	if x32, ok := any(x).([]float32); ok && vectorFloat32 {
		sum = T(expSum32(x32, float32(m)))
	} else {
		for i, v := range x {
			e := T(math.Exp(float64(v - m)))
			x[i] = e
			sum += e
		}
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// expSum32 runs expSumAVX on x, the last len(x) mod 8 values through a padded block, and
// returns the sum of the exponentials: that of the full blocks, then the rest in order.
func expSum32(x []float32, shift float32) float32 {
	full := len(x) &^ 7
	var sum float32
	if full > 0 {
		_ = x[full-1]
		sum = expSumAVX(full, &x[0], shift)
	}
	if full == len(x) {
		return sum
	}
	var b [8]float32
	n := copy(b[:], x[full:])
	expSumAVX(8, &b[0], shift)
	for _, e := range b[:n] {
		sum += e
	}
	copy(x[full:], b[:n])
	return sum
}

// vectorRow reports whether the float32 row kernels can run on rows of d values.
func vectorRow(d int) bool { return vectorFloat32 && d > 0 && d%8 == 0 }

// normalizeRow32 is normalizeRow with the row kernels; it reports false, doing nothing, where
// they cannot run.
func normalizeRow32(out, row, gain, bias []float32, eps float64) (mean, rstd float32, ok bool) {
	d := len(row)
	if !vectorRow(d) {
		return 0, 0, false
	}
	_, _, _ = out[d-1], gain[d-1], bias[d-1]
	m, sq := rowMomentsAVX(d, &row[0])
	rstd = float32(1 / math.Sqrt(sq/float64(d)+eps))
	rowAffineAVX(d, &out[0], &row[0], &gain[0], &bias[0], float32(m), rstd)
	return float32(m), rstd, true
}

// normalizeRowGrad32 is normalizeRowGrad with the row kernels; it reports false, doing nothing,
// where they cannot run.
func normalizeRowGrad32(out, row, grow, gain []float32, mean, rstd float32) bool {
	d := len(row)
	if !vectorRow(d) {
		return false
	}
	_, _, _ = out[d-1], grow[d-1], gain[d-1]
	rowGradAVX(d, &out[0], &row[0], &grow[0], &gain[0], mean, rstd)
	return true
}

// The element-wise loops of the backward passes below run their full blocks of eight float32
// values in assembly, with the roundings of their Go loops, and the rest in Go: the results are
// the same bit for bit either way.

// vector32 returns how many leading values of a float32 x the element-wise kernels take (a
// multiple of 8), and x as []float32; 0 for float64 or without the kernels.
func vector32[T float.DType](x []T) (int, []float32) {
	x32, ok := any(x).([]float32)
	if !ok || !vectorFloat32 {
		return 0, nil
	}
	return len(x32) &^ 7, x32
}

// f32 returns x as []float32, checked to hold at least n values; x must be float32.
func f32[T float.DType](x []T, n int) []float32 {
	x32 := any(x).([]float32)
	_ = x32[n-1]
	return x32
}

// mulVec sets dst[i] = a[i]·b[i].
func mulVec[T float.DType](dst, a, b []T) {
	full, d32 := vector32(dst)
	if full > 0 {
		mulAVX(full, &d32[0], &f32(a, full)[0], &f32(b, full)[0])
	}
	for i := full; i < len(dst); i++ {
		dst[i] = a[i] * b[i]
	}
}

// addVec sets dst[i] = a[i] + b[i]; dst may be a or b.
func addVec[T float.DType](dst, a, b []T) {
	full, d32 := vector32(dst)
	if full > 0 {
		addAVX(full, &d32[0], &f32(a, full)[0], &f32(b, full)[0])
	}
	for i := full; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}

// dropAddVec sets dst[i] = a[i]·mask[i] + x[i], the product taken as 0 where mask[i] is 0, as
// Dropout and then Add compute it.
func dropAddVec[T float.DType](dst, a, mask, x []T) {
	full, d32 := vector32(dst)
	if full > 0 {
		dropAddAVX(full, &d32[0], &f32(a, full)[0], &f32(mask, full)[0], &f32(x, full)[0])
	}
	for i := full; i < len(dst); i++ {
		var dropped T
		if mask[i] != 0 {
			dropped = a[i] * mask[i]
		}
		dst[i] = dropped + x[i]
	}
}
