package lora

import (
	"fmt"
	"strings"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/internal/registry"
)

// The file format of LoRA adapters, as PEFT's LoraConfig and LoraLayer write them: the options r,
// lora_alpha, lora_dropout, use_rslora and init_lora_weights, and two tensors per layer,
// lora_A.weight (r×in) and lora_B.weight (out×r).
func init() {
	registry.Register(registry.Method{
		PeftType:     Config{}.PeftType(),
		EncodeConfig: encodeConfig,
		DecodeConfig: decodeConfig,
		State:        state,
	})
}

// encodeConfig maps c to PEFT's keys, with the options this package does not have written off.
func encodeConfig(c any) (map[string]any, error) {
	lc, ok := c.(Config)
	if !ok {
		return nil, fmt.Errorf("%w: lora: configuration of type %T", peft.ErrInvalidConfig, c)
	}
	var start any = true
	if lc.Init == GaussianInit {
		start = "gaussian"
	}
	return map[string]any{
		"r":                 lc.R,
		"lora_alpha":        lc.Alpha,
		"lora_dropout":      lc.Dropout,
		"use_rslora":        lc.UseRSLoRA,
		"init_lora_weights": start,
		"fan_in_fan_out":    false,
		"use_dora":          false,
		"rank_pattern":      map[string]any{},
		"alpha_pattern":     map[string]any{},
	}, nil
}

// decodeConfig reads PEFT's keys, with PEFT's defaults (r 8, lora_alpha 8, lora_dropout 0,
// use_rslora false, init_lora_weights true). init_lora_weights is read as PEFT reads it: true,
// "gaussian" in any letter case, or false, which leaves PEFT's A and B at torch's default
// initialisation (B not zero). A loaded adapter takes its values from the file, so false loads as
// KaimingInit (and is saved back as true, which PEFT also only uses to initialise). PiSSA,
// OLoRA, LoftQ, EVA, CorDA and the other named initialisations change the base weights or need
// data, and are refused by name.
func decodeConfig(f *registry.Fields) (any, error) {
	c := Config{R: 8, Alpha: 8}
	for key, dst := range map[string]any{"r": &c.R, "lora_alpha": &c.Alpha, "lora_dropout": &c.Dropout, "use_rslora": &c.UseRSLoRA} {
		if _, err := f.Decode(key, dst); err != nil {
			return nil, err
		}
	}
	var start any = true
	if _, err := f.Decode("init_lora_weights", &start); err != nil {
		return nil, err
	}
	switch s, _ := start.(string); {
	case start == true || start == false:
		c.Init = KaimingInit
	case strings.EqualFold(s, "gaussian"):
		c.Init = GaussianInit
	default:
		return nil, f.Unsupported("init_lora_weights", `only true, false and "gaussian" are supported (the other initialisations change the base weights)`)
	}
	// PEFT writes megatron_core as "megatron.core" and qalora_group_size as 16 whatever the
	// configuration; they only matter with megatron_config and use_qalora, which must be off.
	var unused any
	for _, key := range []string{"megatron_core", "qalora_group_size"} {
		if _, err := f.Decode(key, &unused); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func state(a any) (registry.State, bool) {
	m, ok := a.(*Model)
	if !ok {
		return registry.State{}, false
	}
	return registry.State{Config: m.Config, Params: map[string]*nn.Param{"lora_A.weight": m.A, "lora_B.weight": m.B}}, true
}
