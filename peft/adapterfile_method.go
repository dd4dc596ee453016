package peft

import (
	"fmt"
	"strings"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft/internal/registry"
)

// Adapter files know each method through the registry that the method packages (peft/hra,
// peft/lora, peft/oft) fill when imported; these wrappers give the registry's untyped values
// back their types.

// lookupMethod returns the registered method of peftType, or an ErrUnsupported error listing the
// registered ones.
func lookupMethod(peftType string) (registry.Method, error) {
	m, known, ok := registry.Lookup(peftType)
	if !ok {
		return m, fmt.Errorf("%w: peft_type %q; supported: %s (a method's package, such as peft/hra, registers it when imported)",
			ErrUnsupported, peftType, strings.Join(known, ", "))
	}
	return m, nil
}

// encodeMethodConfig returns c's method and its own keys of adapter_config.json.
func encodeMethodConfig(c Config) (map[string]any, error) {
	m, err := lookupMethod(c.PeftType())
	if err != nil {
		return nil, err
	}
	return m.EncodeConfig(c)
}

// decodeMethodConfig builds the Config of method m from f.
func decodeMethodConfig(m registry.Method, f *registry.Fields) (Config, error) {
	v, err := m.DecodeConfig(f)
	if err != nil {
		return nil, err
	}
	c, ok := v.(Config)
	if !ok {
		return nil, fmt.Errorf("%w: method %s decoded a %T, not a peft.Config", ErrUnsupported, m.PeftType, v)
	}
	return c, nil
}

// stateOf returns the configuration a was built with and its parameters by PEFT's suffix; it
// fails with ErrUnsupported if no registered method knows a.
func stateOf(a Adapter) (Config, map[string]*nn.Param, error) {
	s, ok := registry.StateOf(a)
	c, isConfig := s.Config.(Config)
	if !ok || !isConfig {
		return nil, nil, fmt.Errorf("%w: adapter of type %T belongs to no registered method", ErrUnsupported, a)
	}
	return c, s.Params, nil
}

// ConfigOf returns the configuration adapter a was built with (after loading, the one its file
// gave). It fails with ErrUnsupported for an adapter of no known method.
func ConfigOf(a Adapter) (Config, error) {
	c, _, err := stateOf(a)
	return c, err
}
