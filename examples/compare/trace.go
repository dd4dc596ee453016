package main

import (
	"encoding/json"
	"io"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/train"
)

// traceStep is one line of --trace: what a step did, and which training examples (indices into
// the training set, in file order after --train-limit's draw) its batch held, so that another
// implementation can replay the same batches and compare step by step.
type traceStep struct {
	Method   string  `json:"method"`
	Seed     uint64  `json:"seed"`
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	GradNorm float64 `json:"grad_norm"`
	LR       float64 `json:"lr"`
	Batch    []int   `json:"batch"`
}

// stepTracer writes traceSteps; a nil writer makes it do nothing.
type stepTracer struct {
	enc          *json.Encoder
	method       string
	seed         uint64
	n, batchSize int
	epoch        int
	batches      [][]int // of epoch
	err          error   // the first write error
}

func newStepTracer(w io.Writer, method string, seed uint64, n, batchSize int) *stepTracer {
	t := &stepTracer{method: method, seed: seed, n: n, batchSize: batchSize}
	if w != nil {
		t.enc = json.NewEncoder(w)
	}
	return t
}

// step records s, recomputing its batch as train.Fit draws it.
func (t *stepTracer) step(s train.StepInfo) {
	if t.enc == nil || t.err != nil {
		return
	}
	if s.Epoch != t.epoch {
		t.epoch = s.Epoch
		t.batches = dataset.Batches(dataset.Order(t.n, t.seed, s.Epoch-1), t.batchSize)
	}
	i := (s.Step - 1) % len(t.batches)
	t.err = t.enc.Encode(traceStep{Method: t.method, Seed: t.seed, Step: s.Step, Loss: s.Loss,
		GradNorm: s.GradNorm, LR: s.LR, Batch: t.batches[i]})
}
