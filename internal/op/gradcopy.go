package op

import (
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// copyElision is set while CopyForGrad elides copies; SetCopyElision switches it.
var copyElision = true

// SetCopyElision makes CopyForGrad return x itself (on) or always a copy (off) when x does not
// require gradients, and returns the previous setting: for benchmarks that compare both within
// one process. Call it only while no operator runs.
func SetCopyElision(on bool) (was bool) {
	was, copyElision = copyElision, on
	return was
}

// CopyForGrad returns ag.Copy(x) when x requires gradients, else x itself. Copies give a node
// that several operators consume fewer consumers each, so that its gradients are summed in a
// fixed order (spago sums them as they arrive); a node that gets no gradient needs none, and
// an inference pass skips the copying and the memory.
func CopyForGrad(x mat.Tensor) mat.Tensor {
	if copyElision && !x.RequiresGrad() {
		return x
	}
	return ag.Copy(x)
}
