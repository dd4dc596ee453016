package finetune

import (
	"fmt"
	"math"

	"github.com/spago-peft/spago-peft/integration/train"
)

// divergenceFactor is how far the training loss may grow beyond the first step's (or ln 2, if
// larger) before a run counts as diverged: a healthy run's cross-entropy stays within a few times
// its start, while one with a far too high learning rate climbs by orders of magnitude.
const divergenceFactor = 50

// divergenceWatch follows the training loss step by step (train.Options.OnStep) and reports
// divergence from train.Options.Check, which stops the run.
type divergenceWatch struct {
	first    float64 // loss of the first step, 0 before it
	diverged *train.StepInfo
}

func (w *divergenceWatch) observe(info train.StepInfo) {
	if w.first == 0 {
		w.first = max(info.Loss, math.Ln2)
		return
	}
	if w.diverged == nil && info.Loss > divergenceFactor*w.first {
		w.diverged = &info
	}
}

// err returns ErrDiverged once the loss has diverged.
func (w *divergenceWatch) err() error {
	if w.diverged == nil {
		return nil
	}
	return fmt.Errorf("%w: training loss %.3g at step %d, against %.3g at the start: lower the learning rate",
		ErrDiverged, w.diverged.Loss, w.diverged.Step, w.first)
}
