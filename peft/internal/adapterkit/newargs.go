package adapterkit

import (
	"fmt"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// CheckNewArgs returns an peft.ErrInvalidConfig error, prefixed by method, if an adapter constructor
// got a nil base layer, a base without weights, or a nil rng; constructors call it first.
func CheckNewArgs(method string, base *linear.Model, rng *rand.Rand) error {
	switch {
	case base == nil:
		return fmt.Errorf("%w: %s: the base layer is nil", peft.ErrInvalidConfig, method)
	case base.W == nil || base.B == nil:
		return fmt.Errorf("%w: %s: the base layer has no W or B (build it with linear.New)", peft.ErrInvalidConfig, method)
	case rng == nil:
		return fmt.Errorf("%w: %s: the random generator is nil; pass a math/rand/v2 *rand.Rand, such as rand.New(rand.NewPCG(1, 2))", peft.ErrInvalidConfig, method)
	}
	return nil
}
