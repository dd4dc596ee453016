package lora

import (
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/op"
)

// dropout returns x with each element zeroed with probability p = Config.Dropout and the others
// scaled by 1/(1−p), so the expected value is x (inverted dropout, as torch's nn.Dropout), while
// training; otherwise x itself. The mask comes from the adapter's own generator, seeded at
// construction, so training runs are reproducible; a Model not built by New or decoded from gob
// starts from a fixed seed.
func (m *Model) dropout(x mat.Tensor) mat.Tensor {
	p := m.Config.Dropout
	if !m.training || p == 0 {
		return x
	}
	n, d := op.Dims(x)
	m.maskMu.Lock()
	defer m.maskMu.Unlock()
	if m.maskRNG == nil {
		m.setMaskSource(rand.NewPCG(0, 0))
	}
	var mask mat.Tensor
	switch x.Value().Data().BitSize() {
	case 32:
		mask = op.NewDense(n, d, dropoutMask[float32](m.maskRNG, n*d, p))
	default:
		mask = op.NewDense(n, d, dropoutMask[float64](m.maskRNG, n*d, p))
	}
	return ag.Prod(x, mask)
}

// dropoutMask returns size values, each 0 with probability p and 1/(1−p) otherwise.
func dropoutMask[T float.DType](rng *rand.Rand, size int, p float64) []T {
	keep := T(1 / (1 - p))
	mask := make([]T, size)
	for i := range mask {
		if rng.Float64() >= p {
			mask[i] = keep
		}
	}
	return mask
}
