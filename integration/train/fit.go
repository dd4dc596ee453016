package train

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/dataset"
)

// Fit trains model on trainSet with mini-batch AdamW and returns the record of every step and
// evaluation. The loss of a step is the mean cross-entropy over its batch plus the model's
// Regularization. Each step: the batch is split into Workers contiguous sub-batches, each goroutine
// builds its own graph and backpropagates its share of the mean (its losses scaled by 1/batch
// size, so the summed gradients are those of one graph over the whole batch); the regularisation is
// backpropagated after them; the gradients are clipped to MaxGradNorm; AdamW updates the
// parameters that received gradients; gradients are zeroed; Check runs.
//
// Fit stops with an error naming the step when the loss or the gradient norm is NaN or infinite
// (ErrNonFinite, before the update), when Check fails, or when ctx is done (the error wraps
// ctx.Err(); steps already taken are kept). The History returned holds every step completed.
//
// Reproducibility: the example order depends only on Seed, so runs with the same seed, options
// and model follow the same path, and their loss curves are bit-identical when every gradient is
// summed in a fixed order. spago runs the backward passes of a graph's operators in parallel
// goroutines, so a node that feeds n operators adds its n gradient terms in the order they
// arrive. Two terms commute exactly; three or more may round differently from run to run. Curves
// are therefore bit-identical when no node of the model's graph feeds more than two operators and
// Workers ≤ 2 (each worker's graph adds one term to each parameter); otherwise they agree to
// rounding. Dropout does not change this: each example's batch entry carries a key, its place in
// the run (bert.Batch.DropoutKeys), from which bert's model draws that example's masks, so the
// masks do not depend on Workers or on the order in which the workers run, and runs with
// different Workers differ only by the rounding of the gradients' sums. An adapter's own dropout
// (LoRA's lora_dropout) is keyed the same way (peft.InputDropout).
//
// Fit leaves the model in training mode.
func Fit(ctx context.Context, model Classifier, trainSet []Example, opts Options) (History, error) {
	var h History
	o, err := opts.withDefaults()
	if err != nil {
		return h, err
	}
	if len(trainSet) == 0 {
		return h, fmt.Errorf("%w: no training examples", ErrInvalidExample)
	}
	if err := checkExamples("training", trainSet); err != nil {
		return h, err
	}
	if err := checkExamples("evaluation", o.EvalSet); err != nil {
		return h, err
	}
	params := model.TrainableParams()
	if len(params) == 0 {
		return h, fmt.Errorf("%w: no trainable parameters", ErrModel)
	}
	t := &trainer{model: model, opts: o, params: params, opt: newAdamW(params, o.WeightDecay)}
	stepsPerEpoch := (len(trainSet) + o.BatchSize - 1) / o.BatchSize
	total := o.Epochs * stepsPerEpoch
	if o.Steps > 0 {
		total = o.Steps
	}
	warmup := int(math.Ceil(o.WarmupRatio * float64(total)))

	zeroGrads(params)
	defer zeroGrads(params) // the buffers kept across steps (see resetGrads)
	model.SetTraining(true)
	start := time.Now()
	step := 0
	for epoch := 1; step < total; epoch++ {
		batches := dataset.Batches(dataset.Order(len(trainSet), o.Seed, epoch-1), o.BatchSize)
		for i, idx := range batches {
			if err := ctx.Err(); err != nil {
				return h, fmt.Errorf("train: stopped before step %d: %w", step+1, err)
			}
			stepStart := time.Now()
			info, err := t.step(trainSet, idx, o.LR*linearSchedule(step, warmup, total))
			step++
			if err != nil {
				return h, &stepError{step, err}
			}
			info.Step, info.Epoch = step, epoch
			info.ExamplesPerSec = float64(len(idx)) / time.Since(stepStart).Seconds()
			info.Elapsed = time.Since(start)
			h.Steps = append(h.Steps, info)
			if o.OnStep != nil {
				o.OnStep(info)
			}
			endOfEpoch := i == len(batches)-1
			if len(o.EvalSet) > 0 && (step == total || (o.EvalEvery > 0 && step%o.EvalEvery == 0) || (o.EvalEvery == 0 && endOfEpoch)) {
				e, err := t.evaluate(step, epoch)
				if err != nil {
					return h, &stepError{step, fmt.Errorf("evaluation: %w", err)}
				}
				h.Evals = append(h.Evals, e)
			}
			if step == total {
				break
			}
		}
	}
	return h, nil
}

// stepError is an error in a step of Fit. Its message starts "train: step 17: " and drops the
// "train: " of the package's own sentinel errors that it wraps.
type stepError struct {
	step int
	err  error
}

func (e *stepError) Error() string {
	return fmt.Sprintf("train: step %d: %s", e.step, strings.TrimPrefix(e.err.Error(), "train: "))
}

func (e *stepError) Unwrap() error { return e.err }

// trainer holds what the steps of one Fit share.
type trainer struct {
	model     Classifier
	opts      Options
	params    []*nn.Param
	opt       *adamW
	numLabels int    // learnt from the first logits, 0 before
	examples  uint64 // examples drawn by the steps so far: the dropout key of the next one
}

// evaluate measures the model on the evaluation set, in evaluation mode, and calls OnEval.
func (t *trainer) evaluate(step, epoch int) (EvalInfo, error) {
	m, err := evaluateTagged(t.model, t.opts.EvalSet, t.opts.BatchSize, t.opts.Workers, t.opts.TagNames)
	t.model.SetTraining(true)
	if err != nil {
		return EvalInfo{}, err
	}
	e := EvalInfo{Step: step, Epoch: epoch, Metrics: m}
	if t.opts.OnEval != nil {
		t.opts.OnEval(e)
	}
	return e, nil
}

// step takes one optimiser step on the examples at idx with learning rate lr. It zeroes the
// gradients in any case; on an error other than a failed Check the parameters are unchanged.
func (t *trainer) step(examples []Example, idx []int, lr float64) (StepInfo, error) {
	updated := false // by the fused update, which resets the gradients itself
	defer func() {
		if !updated {
			resetGrads(t.params)
		}
	}()
	if !keepGradients {
		zeroGrads(t.params) // buffers kept while the lever was on
	}
	info := StepInfo{LR: lr, Examples: len(idx)}
	loss, numLabels, err := t.backward(examples, idx)
	if err != nil {
		return info, err
	}
	if t.numLabels == 0 {
		// Check every label once, now that the model has shown its number of labels, instead of
		// failing at some later batch.
		t.numLabels = numLabels
		if err := checkLabels("training", examples, t.numLabels); err != nil {
			return info, err
		}
		if err := checkLabels("evaluation", t.opts.EvalSet, t.numLabels); err != nil {
			return info, err
		}
	}
	if reg := t.model.Regularization(); reg != nil {
		if err := ag.Backward(reg); err != nil {
			return info, fmt.Errorf("%w: backward of the regularisation: %w", ErrModel, err)
		}
		info.Penalty = reg.Value().Item().F64()
	}
	if keepGradients {
		dropUntouched(t.params)
	}
	info.Loss = loss + info.Penalty
	if math.IsNaN(info.Loss) || math.IsInf(info.Loss, 0) {
		return info, fmt.Errorf("%w: loss is %v", ErrNonFinite, info.Loss)
	}
	info.GradNorm = gradNorm(t.params)
	if math.IsNaN(info.GradNorm) || math.IsInf(info.GradNorm, 0) {
		return info, fmt.Errorf("%w: gradient norm is %v", ErrNonFinite, info.GradNorm)
	}
	if keepGradients {
		// Clipping and the reset folded into AdamW's pass over the gradients.
		t.opt.update(lr, clipScale(info.GradNorm, t.opts.MaxGradNorm), true)
		updated = true
	} else {
		if t.opts.MaxGradNorm > 0 {
			clipGradients(t.params, info.GradNorm, t.opts.MaxGradNorm)
		}
		t.opt.step(lr)
	}
	if t.opts.Check != nil {
		if err := t.opts.Check(); err != nil {
			return info, fmt.Errorf("check after the update: %w", err)
		}
	}
	return info, nil
}

// backward backpropagates the mean cross-entropy of the examples at idx, split across the workers,
// and returns the loss and the number of labels of the logits.
func (t *trainer) backward(examples []Example, idx []int) (float64, int, error) {
	workers := min(t.opts.Workers, len(idx))
	scale := lossScale(examples, idx)
	losses := make([]float64, workers)
	labels := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	first := t.examples
	t.examples += uint64(len(idx))
	for k := range workers {
		from, to := k*len(idx)/workers, (k+1)*len(idx)/workers
		wg.Go(func() { losses[k], labels[k], errs[k] = t.subBatch(examples, idx[from:to], first+uint64(from), scale) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, 0, err
		}
	}
	loss := 0.0
	for _, l := range losses {
		loss += l
	}
	return loss, labels[0], nil
}

// subBatch backpropagates scale·Σ cross-entropy over the examples at idx through one graph; the
// examples' dropout keys are firstKey, firstKey+1, ….
func (t *trainer) subBatch(examples []Example, idx []int, firstKey uint64, scale float64) (float64, int, error) {
	if examples[idx[0]].Tags != nil {
		return tokenSubBatch(t.model, examples, idx, firstKey, scale)
	}
	b, labels := batchOf(examples, idx)
	b.DropoutKeys = make([]uint64, len(idx))
	for i := range b.DropoutKeys {
		b.DropoutKeys[i] = firstKey + uint64(i)
	}
	logits, err := t.model.Logits(b)
	if err != nil {
		return 0, 0, modelError("training", idx, err)
	}
	numLabels, err := logitsShape(logits, len(idx))
	if err != nil {
		return 0, 0, err
	}
	if err := checkBatchLabels("training", idx, labels, numLabels); err != nil {
		return 0, 0, err
	}
	loss := classificationLoss(logits, labels, scores(examples, idx), scale)
	if err := ag.Backward(loss); err != nil {
		return 0, 0, fmt.Errorf("%w: backward: %w", ErrModel, err)
	}
	return loss.Value().Item().F64(), numLabels, nil
}

// logitsShape checks that logits has one row per example and at least one column, and returns
// the number of columns.
func logitsShape(logits mat.Tensor, examples int) (int, error) {
	if logits == nil {
		return 0, fmt.Errorf("%w: nil logits", ErrModel)
	}
	s := logits.Value().Shape()
	if len(s) != 2 || s[0] != examples || s[1] < 1 {
		return 0, fmt.Errorf("%w: logits of shape %v for %d examples, want %d×labels", ErrModel, s, examples, examples)
	}
	return s[1], nil
}

// checkExamples reports the first example of the named set that no model can take.
func checkExamples(set string, examples []Example) error {
	for i, e := range examples {
		switch {
		case len(e.IDs) == 0:
			return fmt.Errorf("%w: %s example %d: no token IDs", ErrInvalidExample, set, i)
		case e.TypeIDs != nil && len(e.TypeIDs) != len(e.IDs):
			return fmt.Errorf("%w: %s example %d: %d type IDs for %d tokens", ErrInvalidExample, set, i, len(e.TypeIDs), len(e.IDs))
		case e.Label < 0:
			return fmt.Errorf("%w: %s example %d: label %d is negative", ErrInvalidExample, set, i, e.Label)
		case (e.Tags != nil) != (examples[0].Tags != nil) || e.Tags != nil && len(e.Tags) != len(e.IDs):
			return fmt.Errorf("%w: %s example %d: %d tags for %d tokens (token classification wants one per token in every example)", ErrInvalidExample, set, i, len(e.Tags), len(e.IDs))
		}
	}
	return nil
}

// checkLabels reports the first example of the named set whose label is numLabels or more.
func checkLabels(set string, examples []Example, numLabels int) error {
	for i, e := range examples {
		if e.Label >= numLabels {
			return labelError(set, i, e.Label, numLabels)
		}
		if err := checkTags(set, i, e.Tags, numLabels); err != nil {
			return err
		}
	}
	return nil
}

// checkBatchLabels reports the first of labels, those of the examples at idx of the named set,
// that is numLabels or more.
func checkBatchLabels(set string, idx, labels []int, numLabels int) error {
	for i, j := range idx {
		if labels[i] >= numLabels {
			return labelError(set, j, labels[i], numLabels)
		}
	}
	return nil
}

func labelError(set string, i, label, numLabels int) error {
	return fmt.Errorf("%w: %s example %d: label %d but the model has %d labels", dataset.ErrLabelRange, set, i, label, numLabels)
}
