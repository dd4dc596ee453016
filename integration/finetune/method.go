package finetune

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// Method kinds accepted by Method.Kind.
const (
	KindHRA  = "hra"  // Householder reflection adaptation
	KindLoRA = "lora" // low-rank adaptation
	KindOFT  = "oft"  // orthogonal fine-tuning
	KindHead = "head" // no adapter: only the classification head is trained
	KindFull = "full" // every weight is trained
)

// Kinds lists the method kinds in the order the examples present them.
var Kinds = []string{KindHRA, KindLoRA, KindOFT, KindHead, KindFull}

// Default hyper-parameters, from the HRA paper and HF PEFT's examples.
const (
	DefaultHRARank      = 8  // HRA reflections, paired initialisation
	DefaultLoRARank     = 8  // LoRA rank, with α = 2r = 16
	DefaultOFTBlockSize = 32 // OFT block side
)

// Method is an adaptation method and its hyper-parameters, as command-line flags give them.
// Zero fields take the defaults above.
type Method struct {
	// Kind is one of Kinds.
	Kind string
	// R is HRA's number of reflections, LoRA's rank, or OFT's number of blocks (which then
	// replaces the default block size).
	R int
	// Lambda weighs HRA's orthogonality regulariser (0: none, as PEFT).
	Lambda float64
	// GS makes HRA orthonormalise its vectors by Gram–Schmidt (with random initialisation).
	GS bool
	// Alpha is LoRA's scale numerator (0: 2·R).
	Alpha float64
	// BlockSize is OFT's block side (0: DefaultOFTBlockSize unless R is set).
	BlockSize int
}

// ParseKind checks a method name, accepting "none" as KindHead, and returns it in canonical form.
func ParseKind(kind string) (string, error) {
	k := strings.ToLower(strings.TrimSpace(kind))
	if k == "none" {
		k = KindHead
	}
	for _, known := range Kinds {
		if k == known {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: unknown method %q, want one of %s", ErrInvalidJob, kind, strings.Join(Kinds, ", "))
}

// Adapter returns the adapter configuration of m (nil for KindHead and KindFull) and whether it
// trains every weight (KindFull). It fails with ErrInvalidJob for an unknown kind or options that
// the kind does not take, and with peft.ErrInvalidConfig for invalid values.
func (m Method) Adapter() (adapter peft.Config, full bool, err error) {
	kind, err := ParseKind(m.Kind)
	if err != nil {
		return nil, false, err
	}
	if kind != KindHRA && (m.Lambda != 0 || m.GS) {
		return nil, false, fmt.Errorf("%w: --lambda and --gs are HRA options, not %s ones", ErrInvalidJob, kind)
	}
	if kind != KindLoRA && m.Alpha != 0 {
		return nil, false, fmt.Errorf("%w: alpha is a LoRA option, not an %s one", ErrInvalidJob, kind)
	}
	if kind != KindOFT && m.BlockSize != 0 {
		return nil, false, fmt.Errorf("%w: block size is an OFT option, not an %s one", ErrInvalidJob, kind)
	}
	if (kind == KindHead || kind == KindFull) && m.R != 0 {
		return nil, false, fmt.Errorf("%w: r does not apply to %s", ErrInvalidJob, kind)
	}
	switch kind {
	case KindHRA:
		c := hra.Config{R: orDefault(m.R, DefaultHRARank), Lambda: m.Lambda, GS: m.GS}
		if c.R%2 == 1 && !m.GS {
			// hra.Config's own message names RandomInit, which no command-line flag sets.
			return nil, false, fmt.Errorf("%w: hra: r = %d is odd, but HRA's identity init pairs its reflections: use an even r, or Gram–Schmidt, which starts from random reflections", peft.ErrInvalidConfig, c.R)
		}
		if m.GS {
			c.Init = hra.RandomInit
		}
		adapter = c
	case KindLoRA:
		r := orDefault(m.R, DefaultLoRARank)
		alpha := m.Alpha
		if alpha == 0 {
			alpha = float64(2 * r)
		}
		adapter = lora.Config{R: r, Alpha: alpha}
	case KindOFT:
		c := oft.Config{R: m.R, BlockSize: m.BlockSize}
		if c.R == 0 && c.BlockSize == 0 {
			c.BlockSize = DefaultOFTBlockSize
		}
		adapter = c
	case KindFull:
		return nil, true, nil
	default:
		return nil, false, nil
	}
	if err := adapter.Validate(); err != nil {
		return nil, false, err
	}
	return adapter, false, nil
}

// String describes the method and its effective configuration, such as "hra r=8" or
// "lora r=8 alpha=16".
func (m Method) String() string {
	adapter, full, err := m.Adapter()
	switch {
	case err != nil:
		return m.Kind
	case full:
		return KindFull
	}
	return Describe(adapter)
}

// Describe names an adapter configuration in a few words, such as "hra r=8 lambda=0.0001";
// nil is "head".
func Describe(adapter peft.Config) string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch c := adapter.(type) {
	case nil:
		return KindHead
	case hra.Config:
		s := fmt.Sprintf("hra r=%d", c.R)
		if c.GS {
			s += " gs"
		} else if c.Lambda != 0 {
			s += " lambda=" + g(c.Lambda)
		}
		return s
	case lora.Config:
		return fmt.Sprintf("lora r=%d alpha=%s", c.R, g(c.Alpha))
	case oft.Config:
		if c.BlockSize != 0 {
			return fmt.Sprintf("oft block=%d", c.BlockSize)
		}
		return fmt.Sprintf("oft r=%d", c.R)
	default:
		return strings.ToLower(adapter.PeftType())
	}
}

// ParseTargets splits a comma-separated list of module names (such as "query,value") into the
// targets of a job: those modules get adapters and the classification head is trained in full.
// An empty list gives peft.DefaultBertTargets.
func ParseTargets(list string) peft.Targets {
	t := peft.Targets{ModulesToSave: peft.DefaultBertTargets.ModulesToSave}
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			t.Modules = append(t.Modules, name)
		}
	}
	if len(t.Modules) == 0 {
		return peft.DefaultBertTargets
	}
	return t
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
