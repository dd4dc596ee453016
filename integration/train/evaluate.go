package train

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// Metrics summarise a model's predictions on a set of examples.
type Metrics struct {
	// Loss is the mean cross-entropy, or the mean squared error of a regression model (without
	// the model's Regularization).
	Loss float64
	// Accuracy is the fraction of examples whose highest logit is at their label; 0 for a
	// regression model.
	Accuracy float64
	// Pearson and Spearman are the correlations of a regression model's predictions with the
	// examples' scores (NaN when either is constant); 0 for a classifier.
	Pearson, Spearman float64
	// Examples is the number of examples measured.
	Examples int
	// Tokens is the number of tagged tokens measured, for token classification, whose Loss and
	// Accuracy are per tagged token.
	Tokens int
	// EntityPrecision, EntityRecall and EntityF1 are seqeval's micro-averaged entity scores of
	// token classification with IOB2 tag names (see Options.TagNames); 0 otherwise.
	EntityPrecision, EntityRecall, EntityF1 float64
}

// Evaluate measures model on examples in batches of batchSize, spread over runtime.NumCPU()
// goroutines, after switching it to evaluation mode (SetTraining(false)), in which it stays.
func Evaluate(model Classifier, examples []Example, batchSize int) (Metrics, error) {
	if batchSize < 1 {
		return Metrics{}, fmt.Errorf("%w: batch size %d, want at least 1", ErrInvalidOptions, batchSize)
	}
	if len(examples) == 0 {
		return Metrics{}, fmt.Errorf("%w: no examples to evaluate", ErrInvalidExample)
	}
	if err := checkExamples("evaluation", examples); err != nil {
		return Metrics{}, err
	}
	return evaluateTagged(model, examples, batchSize, runtime.NumCPU(), nil)
}

// EvaluateTokens measures a token classifier as Evaluate does, with the names of its tags
// (IOB2: B-PER, I-PER, O, …), from which it also measures entity-level precision, recall and F1.
func EvaluateTokens(model TokenClassifier, examples []Example, batchSize int, tagNames []string) (Metrics, error) {
	if batchSize < 1 {
		return Metrics{}, fmt.Errorf("%w: batch size %d, want at least 1", ErrInvalidOptions, batchSize)
	}
	if len(examples) == 0 || examples[0].Tags == nil {
		return Metrics{}, fmt.Errorf("%w: no examples with tags to evaluate", ErrInvalidExample)
	}
	if err := checkExamples("evaluation", examples); err != nil {
		return Metrics{}, err
	}
	return evaluateTagged(model, examples, batchSize, runtime.NumCPU(), tagNames)
}

// evaluateTagged is evaluate, or evaluateTokens for examples with tags.
func evaluateTagged(model Classifier, examples []Example, batchSize, workers int, tagNames []string) (Metrics, error) {
	if examples[0].Tags != nil {
		return evaluateTokens(model, examples, batchSize, workers, tagNames)
	}
	return evaluate(model, examples, batchSize, workers)
}

// evaluate is Evaluate on checked arguments with a given number of goroutines. The per-batch sums
// are added in batch order, so the result does not depend on the number of goroutines.
func evaluate(model Classifier, examples []Example, batchSize, workers int) (Metrics, error) {
	model.SetTraining(false)
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	batches := dataset.Batches(order, batchSize)
	losses := make([]float64, len(batches))
	correct := make([]int, len(batches))
	preds := make([][]float64, len(batches)) // a regression model's predictions
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	defer gemm.Occupy(min(workers, len(batches)))() // each worker's products on its own core
	for k := range min(workers, len(batches)) {
		wg.Go(func() {
			for i := k; i < len(batches); i += workers {
				losses[i], correct[i], preds[i], errs[i] = evaluateBatch(model, examples, batches[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Metrics{}, err
		}
	}
	m := Metrics{Examples: len(examples)}
	hits := 0
	for i := range batches {
		m.Loss += losses[i]
		hits += correct[i]
	}
	m.Loss /= float64(len(examples))
	m.Accuracy = float64(hits) / float64(len(examples))
	if preds[0] != nil {
		all := slices.Concat(preds...)
		m.Pearson, m.Spearman = Pearson(all, scores(examples, order)), Spearman(all, scores(examples, order))
	}
	return m, nil
}

// evaluateBatch returns the summed cross-entropy of the examples at idx and how many the model
// classifies correctly, or for a regression model the summed squared error, 0 and its
// predictions.
func evaluateBatch(model Classifier, examples []Example, idx []int) (float64, int, []float64, error) {
	b, labels := batchOf(examples, idx)
	logits, err := model.Logits(b)
	if err != nil {
		return 0, 0, nil, modelError("evaluation", idx, err)
	}
	numLabels, err := logitsShape(logits, len(idx))
	if err != nil {
		return 0, 0, nil, err
	}
	if numLabels == 1 {
		preds := logits.Value().Data().F64()
		return sumSquaredError(preds, scores(examples, idx)), 0, preds, nil
	}
	if err := checkBatchLabels("evaluation", idx, labels, numLabels); err != nil {
		return 0, 0, nil, err
	}
	if logits.Value().Data().BitSize() == 32 {
		l, c := scoreRows(op.Values[float32](logits), labels, numLabels)
		return l, c, nil, nil
	}
	l, c := scoreRows(op.Values[float64](logits), labels, numLabels)
	return l, c, nil, nil
}

// scoreRows returns the summed cross-entropy of the rows of x (one per label) and the number of
// rows whose first maximum is at the label.
func scoreRows[T float.DType](x []T, labels []int, cols int) (float64, int) {
	probs := make([]float64, cols)
	loss, correct := 0.0, 0
	for i, label := range labels {
		row := x[i*cols : (i+1)*cols]
		loss += rowCrossEntropy(row, label, probs)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == label {
			correct++
		}
	}
	return loss, correct
}
