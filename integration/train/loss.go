package train

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/op"
)

// softmaxCrossEntropy returns scale·Σ_i CE(softmax(logits_i), labels[i]) over the rows of the
// rows×labels logits as one scalar node. The trainer passes scale = 1/batch size, so the losses of
// the sub-batches of a mini-batch add up to the batch mean. Fusing softmax and the log keeps it
// stable for any logits (log-sum-exp around the row maximum) and makes the gradient the simple
// scale·(softmax − one-hot). Labels must be in range; callers check them first. A row labelled
// dataset.IgnoreTag (−100, any negative label) adds nothing and gets no gradient, as in
// PyTorch's CrossEntropyLoss(ignore_index=−100): the word pieces of token classification.
func softmaxCrossEntropy(logits mat.Tensor, labels []int, scale float64) mat.Tensor {
	rows, _ := op.Dims(logits)
	op.MustShape(rows == len(labels), "softmaxCrossEntropy: %d rows of logits, %d labels", rows, len(labels))
	return op.Build(logits,
		func() ag.AutoGradFunction {
			return &crossEntropy[float32]{logits: logits, labels: labels, scale: scale}
		},
		func() ag.AutoGradFunction {
			return &crossEntropy[float64]{logits: logits, labels: labels, scale: scale}
		})
}

type crossEntropy[T float.DType] struct {
	logits mat.Tensor
	labels []int
	scale  float64
	probs  []float64 // softmax of each row, kept by Forward for Backward
}

func (f *crossEntropy[T]) Operands() []mat.Tensor { return []mat.Tensor{f.logits} }

func (f *crossEntropy[T]) Forward() (mat.Tensor, error) {
	_, cols := op.Dims(f.logits)
	x := op.Values[T](f.logits)
	f.probs = make([]float64, len(x))
	loss := 0.0
	for i, label := range f.labels {
		if label >= 0 {
			loss += rowCrossEntropy(x[i*cols:(i+1)*cols], label, f.probs[i*cols:(i+1)*cols])
		}
	}
	return mat.Scalar(T(f.scale * loss)), nil
}

func (f *crossEntropy[T]) Backward(gy mat.Tensor) error {
	if !f.logits.RequiresGrad() {
		return nil
	}
	rows, cols := op.Dims(f.logits)
	g := gy.Item().F64() * f.scale
	gx := make([]T, len(f.probs))
	for i, label := range f.labels {
		if label < 0 {
			continue
		}
		for j := i * cols; j < (i+1)*cols; j++ {
			gx[j] = T(g * f.probs[j])
		}
		gx[i*cols+label] = T(g * (f.probs[i*cols+label] - 1))
	}
	f.logits.AccGrad(op.NewDense(rows, cols, gx))
	return nil
}

// rowCrossEntropy returns −log softmax(x)[label], computed in float64 around the maximum of x,
// and writes softmax(x) into probs.
func rowCrossEntropy[T float.DType](x []T, label int, probs []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	sum := 0.0
	for j, v := range x {
		probs[j] = math.Exp(float64(v) - m)
		sum += probs[j]
	}
	for j := range probs {
		probs[j] /= sum
	}
	return m + math.Log(sum) - float64(x[label])
}
