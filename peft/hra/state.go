package hra

import (
	"fmt"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/registry"
)

// The file format of HRA adapters, as PEFT's HRAConfig and HRALayer write them: the options r,
// apply_GS and init_weights, and one tensor per layer, hra_u (in×r).
func init() {
	registry.Register(registry.Method{
		PeftType:     Config{}.PeftType(),
		EncodeConfig: encodeConfig,
		DecodeConfig: decodeConfig,
		State:        state,
	})
}

// encodeConfig maps c to PEFT's keys. Lambda has no PEFT key and is not stored.
func encodeConfig(c any) (map[string]any, error) {
	hc, ok := c.(Config)
	if !ok {
		return nil, fmt.Errorf("%w: hra: configuration of type %T", peft.ErrInvalidConfig, c)
	}
	return map[string]any{"r": hc.R, "apply_GS": hc.GS, "init_weights": hc.Init == PairedInit}, nil
}

// decodeConfig reads PEFT's keys, with PEFT's defaults (r 8, apply_GS false, init_weights true).
// PEFT's init_weights=true pairs the vectors only for an even r, and draws them at random for an
// odd one; with apply_GS the paired start is degenerate. Init is therefore PairedInit only for
// init_weights=true with an even r and no apply_GS, which makes the Config valid whenever PEFT
// could train it; it only matters for new adapters, as a loaded one takes the file's vectors.
func decodeConfig(f *registry.Fields) (any, error) {
	c := Config{R: 8}
	initWeights := true
	for key, dst := range map[string]any{"r": &c.R, "apply_GS": &c.GS, "init_weights": &initWeights} {
		if _, err := f.Decode(key, dst); err != nil {
			return nil, err
		}
	}
	if !initWeights || c.R%2 != 0 || c.GS {
		c.Init = RandomInit
	}
	return c, nil
}

func state(a any) (registry.State, bool) {
	m, ok := a.(*Model)
	if !ok {
		return registry.State{}, false
	}
	return registry.State{Config: m.Config, Params: map[string]*nn.Param{"hra_u": m.U}}, true
}
