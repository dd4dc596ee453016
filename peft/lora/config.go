// Package lora implements Low-Rank Adaptation (Hu et al., arXiv 2106.09685) as HF PEFT does: a
// frozen linear layer y = W·x + b becomes y = W·x + b + s·B·A·x, where A (r×in) and B (out×r)
// are the trainable low-rank factors and s = α/r, or α/√r with rank-stabilised scaling (rsLoRA,
// Kalajdzievski, arXiv 2312.03732).
//
// The adapter never builds the out×in product B·A while training: it projects the tokens down to
// r values and back up, at a cost of O(r·(in+out)) per token, and adds the result to the base
// layer's output.
package lora

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/peft"
)

// Init chooses how A starts; B always starts at zero, so the adapted layer equals the base layer.
type Init int

const (
	// KaimingInit draws A uniformly in ±1/√in: Kaiming-uniform with a = √5, as torch's
	// nn.Linear. It is PEFT's init_lora_weights=true and the default.
	KaimingInit Init = iota
	// GaussianInit draws A from a normal distribution with standard deviation 1/r (PEFT's
	// init_lora_weights="gaussian").
	GaussianInit
)

// Config configures LoRA adapters. Its JSON names are those of PEFT's LoraConfig.
type Config struct {
	// R is the rank of the update, at least 1; above min(in_features, out_features) it adds
	// parameters but no rank (PEFT accepts it too).
	R int `json:"r"`
	// Alpha scales the update: s = Alpha/R, or Alpha/√R with UseRSLoRA. It must be positive.
	Alpha float64 `json:"lora_alpha"`
	// Dropout is the probability, in [0, 1), of zeroing each element of the adapter's input while
	// training; the base layer always sees the whole input.
	Dropout float64 `json:"lora_dropout"`
	// UseRSLoRA sets s = Alpha/√R, which keeps the update's scale stable as R grows.
	UseRSLoRA bool `json:"use_rslora"`
	// Init chooses the initial A. PEFT stores it as init_lora_weights (true or "gaussian"), a
	// JSON value of two types, so the code that saves and loads configurations maps it.
	Init Init `json:"-"`
}

var _ peft.Config = Config{}

// PeftType returns "LORA".
func (c Config) PeftType() string { return "LORA" }

// Scale returns s, the factor of the update s·B·A.
func (c Config) Scale() float64 {
	if c.UseRSLoRA {
		return c.Alpha / math.Sqrt(float64(c.R))
	}
	return c.Alpha / float64(c.R)
}

// Validate checks the configuration before any layer is known.
func (c Config) Validate() error {
	switch {
	case c.R <= 0:
		return fmt.Errorf("%w: lora: r = %d, it must be positive", peft.ErrInvalidConfig, c.R)
	case math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) || c.Alpha <= 0:
		return fmt.Errorf("%w: lora: lora_alpha = %v, it must be a finite number > 0", peft.ErrInvalidConfig, c.Alpha)
	case !(c.Dropout >= 0 && c.Dropout < 1): // written so that NaN fails too
		return fmt.Errorf("%w: lora: lora_dropout = %v, it must be in [0, 1)", peft.ErrInvalidConfig, c.Dropout)
	case c.Init != KaimingInit && c.Init != GaussianInit:
		return fmt.Errorf("%w: lora: unknown init %d", peft.ErrInvalidConfig, c.Init)
	}
	return nil
}

// New wraps base with a LoRA adapter; see Config. Base's parameters are frozen; rng is a
// math/rand/v2 generator (see New).
func (c Config) New(base *linear.Model, rng *rand.Rand) (peft.Adapter, error) {
	m, err := New(base, c, rng)
	if err != nil {
		return nil, err // not a nil *Model in a non-nil Adapter
	}
	return m, nil
}
