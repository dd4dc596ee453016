package peft

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/nlpodyssey/spago/nn"
)

// Method tells adapter files how to store one adapter method. Each method package registers its
// Method in an init function, so that this package reads and writes every method without
// importing them: import the method's package (peft/hra, peft/lora, peft/oft) to read its files.
type Method struct {
	// PeftType is the method's peft_type in adapter_config.json, such as "HRA".
	PeftType string
	// EncodeConfig returns the method's own keys of adapter_config.json for c, a Config of this
	// method, with the values PEFT would write.
	EncodeConfig func(c Config) (map[string]any, error)
	// DecodeConfig builds a Config from the method's keys, taking PEFT's default for an absent
	// key. Keys it does not read must be off (null, false, empty) or loading fails.
	DecodeConfig func(f *ConfigFields) (Config, error)
	// State returns the configuration a was built with and its parameters by PEFT's tensor
	// suffix (such as "lora_A.weight"), or false if a is not an adapter of this method.
	State func(a Adapter) (AdapterState, bool)
}

// AdapterState is what an adapter file stores of one adapter.
type AdapterState struct {
	// Config is the configuration the adapter was built with.
	Config Config
	// Params are the adapter's parameters by PEFT's suffix, such as "hra_u" or "oft_R.weight";
	// the file's key of each is "base_model.model.<module>.<suffix>".
	Params map[string]*nn.Param
}

var registry = struct {
	sync.RWMutex
	methods map[string]Method
}{methods: map[string]Method{}}

// RegisterMethod makes adapter files of m.PeftType readable and writable. It panics if the
// method is incomplete or its peft_type is registered already, as database/sql's Register does.
func RegisterMethod(m Method) {
	if m.PeftType == "" || m.EncodeConfig == nil || m.DecodeConfig == nil || m.State == nil {
		panic("peft: RegisterMethod needs a PeftType and all three functions")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.methods[m.PeftType]; dup {
		panic("peft: method " + m.PeftType + " registered twice")
	}
	registry.methods[m.PeftType] = m
}

// lookupMethod returns the registered method of peftType, or an ErrUnsupported error listing the
// registered ones.
func lookupMethod(peftType string) (Method, error) {
	registry.RLock()
	defer registry.RUnlock()
	if m, ok := registry.methods[peftType]; ok {
		return m, nil
	}
	known := make([]string, 0, len(registry.methods))
	for name := range registry.methods {
		known = append(known, name)
	}
	sort.Strings(known)
	return Method{}, fmt.Errorf("%w: peft_type %q; supported: %s (a method's package, such as peft/hra, registers it when imported)",
		ErrUnsupported, peftType, strings.Join(known, ", "))
}

// StateOf returns the configuration a was built with and its parameters by PEFT's suffix,
// through a's registered Method; it fails with ErrUnsupported if no registered method knows a.
func StateOf(a Adapter) (AdapterState, error) {
	registry.RLock()
	defer registry.RUnlock()
	for _, m := range registry.methods {
		if s, ok := m.State(a); ok {
			return s, nil
		}
	}
	return AdapterState{}, fmt.Errorf("%w: adapter of type %T belongs to no registered method", ErrUnsupported, a)
}

// ConfigFields are the keys of an adapter_config.json that a Method decodes. Reading a key marks
// it used; after DecodeConfig, a key left unused must be off (null, false, "", [] or {}), which
// is how PEFT writes an option that is not in use, or loading fails with ErrUnsupported naming
// it: an option this package would ignore must not change what the adapter computes.
type ConfigFields struct {
	peftType    string
	peftVersion string
	raw         map[string]json.RawMessage
	used        map[string]bool
}

// PEFTVersion returns the file's peft_version ("" when absent: PEFT before 0.18 did not write
// it), so that a Method can refuse semantics that changed between releases.
func (f *ConfigFields) PEFTVersion() string { return f.peftVersion }

// Decode unmarshals the value of key into v and reports whether the key was present with a
// non-null value. A value of the wrong JSON type fails with ErrCorrupt.
func (f *ConfigFields) Decode(key string, v any) (bool, error) {
	f.used[key] = true
	raw, ok := f.raw[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("%w: %s option %s = %s: %v", ErrCorrupt, f.peftType, key, raw, err)
	}
	return true, nil
}

// Unsupported returns an ErrUnsupported error for the value of key, with reason saying why.
func (f *ConfigFields) Unsupported(key, reason string) error {
	return fmt.Errorf("%w: %s option %s = %s: %s", ErrUnsupported, f.peftType, key, f.raw[key], reason)
}

// checkUnused fails on the first unused key (in name order) whose value is not off.
func (f *ConfigFields) checkUnused() error {
	keys := make([]string, 0, len(f.raw))
	for k := range f.raw {
		if !f.used[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !isOff(f.raw[k]) {
			return f.Unsupported(k, "this option is not supported")
		}
	}
	return nil
}

// isOff reports whether a JSON value is null, false, "", [] or {}.
func isOff(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
