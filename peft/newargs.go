package peft

import (
	"fmt"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/nn/linear"
)

// CheckNewArgs returns an ErrInvalidConfig error, prefixed by method, if an adapter constructor
// got a nil base layer, a base without weights, or a nil rng; constructors call it first.
func CheckNewArgs(method string, base *linear.Model, rng *rand.Rand) error {
	switch {
	case base == nil:
		return fmt.Errorf("%w: %s: the base layer is nil", ErrInvalidConfig, method)
	case base.W == nil || base.B == nil:
		return fmt.Errorf("%w: %s: the base layer has no W or B (build it with linear.New)", ErrInvalidConfig, method)
	case rng == nil:
		return fmt.Errorf("%w: %s: the random generator is nil; pass a math/rand/v2 *rand.Rand, such as rand.New(rand.NewPCG(1, 2))", ErrInvalidConfig, method)
	}
	return nil
}
