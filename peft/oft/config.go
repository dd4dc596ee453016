// Package oft implements Orthogonal Finetuning as HF PEFT's OFT (v2, PEFT ≥ 0.14) does it: a
// frozen linear layer W becomes W·R, where R is block-diagonal and each b×b block is a
// rotation obtained by the Cayley transform of a learnable skew-symmetric matrix.
//
// The rotation acts on the layer's input, so the adapter never builds an in×in or out×in matrix
// while training: it rotates each token block by block, at a cost of O(in·b) per token plus
// O((in/b)·b³) per forward for the blocks, and then runs the base layer.
//
// # Conventions, as PEFT's OFTRotationModule has them
//
// Block j of the parameter R (PEFT's oft_R.weight, shape blocks×b(b−1)/2, or 1×b(b−1)/2 with
// BlockShare) holds the strict upper triangle of a b×b matrix S in row-major order, (0,1),
// (0,2), …, (0,b−1), (1,2), … (torch.triu_indices(b, b, 1)), and Q = S − Sᵀ. PEFT multiplies
// each token, as a row vector, on the right by a b×b matrix A:
//
//   - exact Cayley (UseCayleyNeumann false): A = (I − Q)(I + Q)⁻¹, computed by PEFT as
//     torch.linalg.solve(I + Q, I − Q, left=False);
//   - Neumann series with T = NumCayleyNeumannTerms: A = I + 2Q + 2Q² + … + 2Q^(L−1) + Q^L with
//     L = max(T−1, 3) for T ≥ 3, A = I + 2Q for T = 2; it truncates (I + Q)(I − Q)⁻¹. This is
//     the series of PEFT ≥ 0.18; adapter files of earlier PEFT, whose series differs for T ≥ 3,
//     are refused by their (missing) peft_version.
//
// As a map of column vectors a token block becomes Aᵀ·x, so the adapted layer is
// y = W·blockdiag(Aᵀ)·x + b, and Merge sets W ← W·blockdiag(Aᵀ) as PEFT's merge does. For the
// exact form Aᵀ = (I + Q)(I − Q)⁻¹, the Cayley transform of Q. Note that PEFT's two forms rotate
// in opposite directions: the Neumann series approximates (I + Q)(I − Q)⁻¹ = Aᵀ of the exact form,
// not A. This package reproduces each form as PEFT computes it, so an adapter trained by PEFT with
// one setting gives the same outputs here with the same setting; switching the setting of a
// trained adapter changes its outputs (in PEFT too).
package oft

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// Config configures OFT adapters. Its JSON names are those of PEFT's OFTConfig. Exactly one of R
// and BlockSize is non-zero; the other follows from in_features = R·BlockSize.
//
// Unlike PEFT, whose default is the Neumann series with 5 terms, the zero value of
// UseCayleyNeumann selects the exact Cayley transform, which is exactly orthogonal; PEFT's
// adapter_config.json always records both fields.
type Config struct {
	// R is the number of diagonal blocks (PEFT's r); it must divide in_features.
	R int `json:"r"`
	// BlockSize is the side b of each block (PEFT's oft_block_size); it must divide in_features.
	BlockSize int `json:"oft_block_size"`
	// ModuleDropout is the probability, in [0, 1), that a block's rotation is replaced by the
	// identity in a training forward (PEFT's module_dropout). PEFT differs here: since 0.16 (and
	// still in 0.21) it builds this dropout but its forward never applies it, so an adapter
	// trained by PEFT with module_dropout > 0 trained without it, while this package applies it
	// as the OFT paper describes. Files are unaffected (the option only acts while training); for
	// training that matches PEFT's, set 0.
	ModuleDropout float64 `json:"module_dropout"`
	// COFT constrains each block's Q to the Frobenius ball of radius Eps/√(parameter blocks) by
	// projecting the parameters in place before every forward and merge, as PEFT does.
	COFT bool `json:"coft"`
	// Eps is COFT's radius before PEFT's scaling; it must be positive when COFT is set. PEFT's
	// default is 6e-5.
	Eps float64 `json:"eps"`
	// BlockShare makes every block use the same rotation, with b(b−1)/2 parameters in all.
	BlockShare bool `json:"block_share"`
	// UseCayleyNeumann replaces the exact Cayley transform by PEFT's truncated Neumann series,
	// which is cheaper but only approximately orthogonal.
	UseCayleyNeumann bool `json:"use_cayley_neumann"`
	// NumCayleyNeumannTerms is PEFT's number of series terms, at least 2 when UseCayleyNeumann is
	// set (PEFT's default is 5); it is unused otherwise.
	NumCayleyNeumannTerms int `json:"num_cayley_neumann_terms"`
	// AdjustToLayer makes a layer whose in_features R or BlockSize does not divide take the
	// nearest value that does, as PEFT adjusts it per layer (with a warning), instead of failing
	// with the valid choices named. It is not stored in adapter files: a model that reads a file
	// of PEFT whose value PEFT had to adjust sets it, to build the blocks PEFT built.
	AdjustToLayer bool `json:"-"`
}

var _ peft.Config = Config{}

// PeftType returns "OFT".
func (c Config) PeftType() string { return "OFT" }

// Validate checks the configuration before any layer is known.
func (c Config) Validate() error {
	switch {
	case c.R < 0 || c.BlockSize < 0:
		return fmt.Errorf("%w: oft: r = %d and oft_block_size = %d, neither may be negative", peft.ErrInvalidConfig, c.R, c.BlockSize)
	case (c.R == 0) == (c.BlockSize == 0):
		return fmt.Errorf("%w: oft: r = %d and oft_block_size = %d; set exactly one of them, the other follows from r·oft_block_size = in_features", peft.ErrInvalidConfig, c.R, c.BlockSize)
	case c.BlockSize == 1:
		return fmt.Errorf("%w: oft: oft_block_size = 1 leaves no parameters (a 1×1 rotation is the identity); use 2 or more", peft.ErrInvalidConfig)
	case math.IsNaN(c.ModuleDropout) || c.ModuleDropout < 0 || c.ModuleDropout >= 1:
		return fmt.Errorf("%w: oft: module_dropout = %v, it must be in [0, 1)", peft.ErrInvalidConfig, c.ModuleDropout)
	case c.COFT && !(c.Eps > 0 && !math.IsInf(c.Eps, 0)):
		return fmt.Errorf("%w: oft: coft needs a finite eps > 0, got %v (PEFT's default is 6e-5)", peft.ErrInvalidConfig, c.Eps)
	case c.UseCayleyNeumann && c.NumCayleyNeumannTerms < 2:
		return fmt.Errorf("%w: oft: num_cayley_neumann_terms = %d, use_cayley_neumann needs at least 2 (with fewer the rotation is the identity whatever the parameters)", peft.ErrInvalidConfig, c.NumCayleyNeumannTerms)
	}
	return nil
}

// New wraps base with an OFT adapter; see Config. Base's parameters are frozen; rng is a
// math/rand/v2 generator (see New).
func (c Config) New(base *linear.Model, rng *rand.Rand) (peft.Adapter, error) {
	m, err := New(base, c, rng)
	if err != nil {
		return nil, err // not a nil *Model in a non-nil Adapter
	}
	return m, nil
}

// blockSize returns the block side for a layer with in input features, or an error naming the
// nearest valid choices when R or BlockSize does not divide in.
func (c Config) blockSize(in int) (int, error) {
	if c.AdjustToLayer && in >= 2 {
		if c.BlockSize != 0 && (c.BlockSize > in || in%c.BlockSize != 0) {
			c.BlockSize = adjustToDivisor(in, c.BlockSize)
		} else if c.R != 0 && (c.R > in || in%c.R != 0) {
			c.R = adjustToDivisor(in, c.R)
		}
	}
	if c.BlockSize != 0 {
		if c.BlockSize > in || in%c.BlockSize != 0 {
			return 0, fmt.Errorf("%w: oft: oft_block_size = %d does not divide in_features = %d; the nearest valid block sizes are %s",
				peft.ErrInvalidConfig, c.BlockSize, in, nearestDivisors(in, c.BlockSize, 2, in))
		}
		return c.BlockSize, nil
	}
	if in < 2 {
		return 0, fmt.Errorf("%w: oft: in_features = %d, OFT needs at least 2", peft.ErrInvalidConfig, in)
	}
	if c.R > in/2 || in%c.R != 0 {
		return 0, fmt.Errorf("%w: oft: r = %d does not divide in_features = %d into blocks of 2 or more; the nearest valid r are %s",
			peft.ErrInvalidConfig, c.R, in, nearestDivisors(in, c.R, 1, in/2))
	}
	return in / c.R, nil
}

// adjustToDivisor returns the divisor of in nearest to p, the lower one on a tie, and in for
// p ≥ in: PEFT's OFTLayer.adjust_oft_parameters.
func adjustToDivisor(in, p int) int {
	if p >= in {
		return in
	}
	higher := p
	for higher <= in && in%higher != 0 {
		higher++
	}
	lower := p
	for lower > 1 && in%lower != 0 {
		lower--
	}
	if p-lower <= higher-p {
		return lower
	}
	return higher
}

// nearestDivisors describes the divisors of n in [lo, hi] closest to want from below and above.
func nearestDivisors(n, want, lo, hi int) string {
	below, above := 0, 0
	for d := min(want, hi); d >= lo; d-- {
		if n%d == 0 {
			below = d
			break
		}
	}
	for d := max(want, lo); d <= hi; d++ {
		if n%d == 0 {
			above = d
			break
		}
	}
	switch {
	case below != 0 && above != 0 && below != above:
		return fmt.Sprintf("%d and %d", below, above)
	case below != 0:
		return fmt.Sprint(below)
	case above != 0:
		return fmt.Sprint(above)
	}
	return "none"
}
