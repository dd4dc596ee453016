// Package hra implements Householder Reflection Adaptation (Yuan, Liu, Xu, arXiv 2405.17484): a
// frozen linear layer W becomes W·H, where H = H_1·H_2⋯H_r and H_i = I − 2·u_i·u_iᵀ/‖u_i‖² is a
// learnable Householder reflection of the layer's input space.
//
// The reflections act on the input, so the adapter never builds an in×in matrix: it reflects the
// tokens, at a cost of O(r·in) per token, and then runs the base layer.
package hra

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// Init chooses how the reflection vectors start.
type Init int

const (
	// PairedInit repeats each random column once (u1, u1, u2, u2, …): consecutive equal
	// reflections cancel, so H = I and the adapted layer equals the base layer at start. It needs
	// an even R. It is PEFT's init_weights=true and the default.
	PairedInit Init = iota
	// RandomInit draws every column independently (PEFT's init_weights=false).
	RandomInit
)

// Config configures HRA adapters. Its JSON names are those of PEFT's HRAConfig where PEFT has the
// option.
type Config struct {
	// R is the number of reflections, 1 ≤ R ≤ in_features.
	R int `json:"r"`
	// Init chooses the initial reflection vectors.
	Init Init `json:"-"`
	// GS orthonormalises the vectors by Gram–Schmidt and uses H = I − 2·Q·Qᵀ (PEFT's apply_GS,
	// the paper's λ = ∞). It needs RandomInit: Gram–Schmidt of paired columns is degenerate.
	GS bool `json:"apply_GS"`
	// Lambda weighs the orthogonality regulariser λ·‖I − ÛᵀÛ‖²_F (Û: U with unit columns). PEFT
	// has no such term; the paper does. 0 turns it off; it is unused with GS.
	Lambda float64 `json:"-"`
}

var _ peft.Config = Config{}

// PeftType returns "HRA".
func (c Config) PeftType() string { return "HRA" }

// Validate checks the configuration before any layer is known.
func (c Config) Validate() error {
	switch {
	case c.R <= 0:
		return fmt.Errorf("%w: hra: r = %d, it must be positive", peft.ErrInvalidConfig, c.R)
	case c.Init != PairedInit && c.Init != RandomInit:
		return fmt.Errorf("%w: hra: unknown init %d", peft.ErrInvalidConfig, c.Init)
	case c.Init == PairedInit && c.R%2 != 0:
		return fmt.Errorf("%w: hra: r = %d is odd, but the paired (identity) init needs an even r; use an even r or RandomInit", peft.ErrInvalidConfig, c.R)
	case c.GS && c.Init == PairedInit:
		return fmt.Errorf("%w: hra: apply_GS with the paired init is degenerate (Gram–Schmidt of repeated columns divides by zero); use RandomInit", peft.ErrInvalidConfig)
	case math.IsNaN(c.Lambda) || math.IsInf(c.Lambda, 0) || c.Lambda < 0:
		return fmt.Errorf("%w: hra: lambda = %v, it must be a finite number ≥ 0", peft.ErrInvalidConfig, c.Lambda)
	}
	return nil
}

// New wraps base with an HRA adapter; see Config. Base's parameters are frozen; rng is a
// math/rand/v2 generator (see New).
func (c Config) New(base *linear.Model, rng *rand.Rand) (peft.Adapter, error) {
	m, err := New(base, c, rng)
	if err != nil {
		return nil, err // not a nil *Model in a non-nil Adapter
	}
	return m, nil
}
