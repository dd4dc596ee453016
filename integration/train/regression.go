package train

import (
	"math"
	"sort"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/op"
)

// A model with one output column is a regression model, as transformers decides it
// (problem_type "regression" when num_labels is 1): its loss is the mean squared error against
// Example.Score, and its metrics Pearson's and Spearman's correlations.

// meanSquaredError returns scale·Σ_i (x_i − targets[i])² over the rows of the rows×1 predictions
// x as one scalar node; the trainer passes scale = 1/batch size, so that the losses of the
// sub-batches add up to transformers' MSELoss over the batch.
func meanSquaredError(x mat.Tensor, targets []float64, scale float64) mat.Tensor {
	rows, cols := op.Dims(x)
	op.MustShape(rows == len(targets) && cols == 1, "meanSquaredError: %d×%d predictions, %d targets", rows, cols, len(targets))
	return op.Build(x,
		func() ag.AutoGradFunction { return &squaredError[float32]{x: x, targets: targets, scale: scale} },
		func() ag.AutoGradFunction { return &squaredError[float64]{x: x, targets: targets, scale: scale} })
}

type squaredError[T float.DType] struct {
	x       mat.Tensor
	targets []float64
	scale   float64
}

func (f *squaredError[T]) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *squaredError[T]) Forward() (mat.Tensor, error) {
	return mat.Scalar(T(f.scale * sumSquaredError(op.Values[T](f.x), f.targets))), nil
}

func (f *squaredError[T]) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	g := 2 * gy.Item().F64() * f.scale
	x := op.Values[T](f.x)
	gx := make([]T, len(x))
	for i, v := range x {
		gx[i] = T(g * (float64(v) - f.targets[i]))
	}
	f.x.AccGrad(op.NewDense(len(x), 1, gx))
	return nil
}

// sumSquaredError returns Σ (x_i − targets[i])², in float64.
func sumSquaredError[T float.DType](x []T, targets []float64) float64 {
	sum := 0.0
	for i, v := range x {
		d := float64(v) - targets[i]
		sum += d * d
	}
	return sum
}

// Pearson returns Pearson's correlation coefficient of x and y, or NaN when they differ in
// length, have fewer than two values, or either is constant.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Spearman returns Spearman's rank correlation of x and y: Pearson's correlation of their ranks,
// ties given their mean rank (as scipy.stats.spearmanr, which GLUE's STS-B metric uses).
func Spearman(x, y []float64) float64 {
	if len(y) != len(x) {
		return math.NaN()
	}
	return Pearson(ranks(x), ranks(y))
}

// ranks returns the 1-based rank of each value of x, ties sharing their mean rank.
func ranks(x []float64) []float64 {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] < x[order[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && x[order[j+1]] == x[order[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for _, k := range order[i : j+1] {
			r[k] = mean
		}
		i = j + 1
	}
	return r
}

// scores returns the regression targets of the examples at idx.
func scores(examples []Example, idx []int) []float64 {
	s := make([]float64, len(idx))
	for i, j := range idx {
		s[i] = examples[j].Score
	}
	return s
}

// classificationLoss is the loss of logits against the labels, or against the scores when the
// model is a regression model (one column).
func classificationLoss(logits mat.Tensor, labels []int, targets []float64, scale float64) mat.Tensor {
	if _, cols := op.Dims(logits); cols == 1 {
		return meanSquaredError(logits, targets, scale)
	}
	return softmaxCrossEntropy(logits, labels, scale)
}
