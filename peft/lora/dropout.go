package lora

import (
	"math/rand/v2"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/op"
)

// inputMask returns the dropout mask of x (n×in) while training: each value 0 with probability
// p = Config.Dropout and 1/(1−p) otherwise (inverted dropout, as torch's nn.Dropout), drawn row
// after row from rng, or from the adapter's own generator when rng is nil. It returns nil outside
// training or when p is 0: the adapter's input is then x itself.
//
// The adapter's own generator, seeded at construction (a Model not built by New or decoded from
// gob starts from a fixed seed), makes a run reproducible when one goroutine calls the adapter; a
// model whose forwards run on several goroutines passes its own keyed generator instead (see
// peft.InputDropout), so the masks do not depend on which call comes first.
func (m *Model) inputMask(x mat.Tensor, rng rand.Source) mat.Tensor {
	p := m.Config.Dropout
	if !m.training || p == 0 {
		return nil
	}
	n, d := op.Dims(x)
	if rng == nil {
		m.maskMu.Lock()
		defer m.maskMu.Unlock()
		if m.maskRNG == nil {
			m.setMaskSource(rand.NewPCG(0, 0))
		}
		rng = m.maskRNG
	}
	if x.Value().Data().BitSize() == 32 {
		return op.NewDense(n, d, op.DropoutMask[float32](n*d, p, rng))
	}
	return op.NewDense(n, d, op.DropoutMask[float64](n*d, p, rng))
}
