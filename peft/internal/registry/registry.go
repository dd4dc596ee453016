// Package registry is the plumbing between package peft's adapter files and the method packages
// (peft/hra, peft/lora, peft/oft): each method registers, in an init function, how its
// configuration maps to PEFT's adapter_config.json keys and which tensors it stores, so that peft
// reads and writes every method without importing them. It is internal because users never call
// it: they import a method's package and use peft.
//
// Configurations and adapters pass through here as any, because this package cannot import peft
// (peft imports it); peft checks the types it gets back.
package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/nlpodyssey/spago/nn"
)

// Method tells adapter files how to store one adapter method.
type Method struct {
	// PeftType is the method's peft_type in adapter_config.json, such as "HRA".
	PeftType string
	// EncodeConfig returns the method's own keys of adapter_config.json for c, a peft.Config of
	// this method, with the values PEFT would write.
	EncodeConfig func(c any) (map[string]any, error)
	// DecodeConfig builds a peft.Config from the method's keys, taking PEFT's default for an
	// absent key. Keys it does not read must be off (null, false, empty) or loading fails.
	DecodeConfig func(f *Fields) (any, error)
	// State returns the configuration the peft.Adapter a was built with and its parameters by
	// PEFT's tensor suffix (such as "lora_A.weight"), or false if a is not of this method.
	State func(a any) (State, bool)
}

// State is what an adapter file stores of one adapter.
type State struct {
	// Config is the peft.Config the adapter was built with.
	Config any
	// Params are the adapter's parameters by PEFT's suffix, such as "hra_u" or "oft_R.weight";
	// the file's key of each is "base_model.model.<module>.<suffix>".
	Params map[string]*nn.Param
}

var methods = struct {
	sync.RWMutex
	m map[string]Method
}{m: map[string]Method{}}

// Register makes adapter files of m.PeftType readable and writable. It panics if the method is
// incomplete or its peft_type is registered already, as database/sql's Register does.
func Register(m Method) {
	if m.PeftType == "" || m.EncodeConfig == nil || m.DecodeConfig == nil || m.State == nil {
		panic("peft: registering a method needs a PeftType and all three functions")
	}
	methods.Lock()
	defer methods.Unlock()
	if _, dup := methods.m[m.PeftType]; dup {
		panic("peft: method " + m.PeftType + " registered twice")
	}
	methods.m[m.PeftType] = m
}

// Lookup returns the registered method of peftType, or false and the registered peft_types in
// name order.
func Lookup(peftType string) (Method, []string, bool) {
	methods.RLock()
	defer methods.RUnlock()
	if m, ok := methods.m[peftType]; ok {
		return m, nil, true
	}
	known := make([]string, 0, len(methods.m))
	for name := range methods.m {
		known = append(known, name)
	}
	sort.Strings(known)
	return Method{}, known, false
}

// StateOf returns the configuration a was built with and its parameters by PEFT's suffix,
// through a's registered Method, or false if no registered method knows a.
func StateOf(a any) (State, bool) {
	methods.RLock()
	defer methods.RUnlock()
	for _, m := range methods.m {
		if s, ok := m.State(a); ok {
			return s, true
		}
	}
	return State{}, false
}

// Fields are the keys of an adapter_config.json that a Method decodes. Reading a key marks it
// used; after DecodeConfig, a key left unused must be off (null, false, "", [] or {}), which is
// how PEFT writes an option that is not in use, or loading fails naming it: an option this
// library would ignore must not change what the adapter computes.
type Fields struct {
	peftType    string
	peftVersion string
	raw         map[string]json.RawMessage
	used        map[string]bool
	// corrupt and unsupported are the sentinel errors that Decode and Unsupported wrap
	// (peft.ErrCorrupt and peft.ErrUnsupported).
	corrupt, unsupported error
}

// NewFields returns the fields of raw, a decoded adapter_config.json of peftType, reading its
// peft_version; Decode wraps corrupt, Unsupported wraps unsupported.
func NewFields(peftType string, raw map[string]json.RawMessage, corrupt, unsupported error) (*Fields, error) {
	f := &Fields{peftType: peftType, raw: raw, used: map[string]bool{}, corrupt: corrupt, unsupported: unsupported}
	if _, err := f.Decode("peft_version", &f.peftVersion); err != nil {
		return nil, err
	}
	return f, nil
}

// PEFTVersion returns the file's peft_version ("" when absent: PEFT before 0.18 did not write
// it), so that a Method can refuse semantics that changed between releases.
func (f *Fields) PEFTVersion() string { return f.peftVersion }

// Raw returns the undecoded value of key (nil when absent), without marking it used.
func (f *Fields) Raw(key string) json.RawMessage { return f.raw[key] }

// MarkUsed marks keys as read by the caller.
func (f *Fields) MarkUsed(keys ...string) {
	for _, k := range keys {
		f.used[k] = true
	}
}

// Decode unmarshals the value of key into v and reports whether the key was present with a
// non-null value. A value of the wrong JSON type fails with the corrupt error.
func (f *Fields) Decode(key string, v any) (bool, error) {
	f.used[key] = true
	raw, ok := f.raw[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("%w: %s option %s = %s: %v", f.corrupt, f.peftType, key, raw, err)
	}
	return true, nil
}

// Unsupported returns an unsupported error for the value of key, with reason saying why.
func (f *Fields) Unsupported(key, reason string) error {
	return fmt.Errorf("%w: %s option %s = %s: %s", f.unsupported, f.peftType, key, f.raw[key], reason)
}

// CheckUnused fails on the first unused key (in name order) whose value is not off.
func (f *Fields) CheckUnused() error {
	keys := make([]string, 0, len(f.raw))
	for k := range f.raw {
		if !f.used[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !IsOff(f.raw[k]) {
			return f.Unsupported(k, "this option is not supported")
		}
	}
	return nil
}

// IsOff reports whether a JSON value is null, false, "", [] or {}.
func IsOff(raw json.RawMessage) bool {
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
