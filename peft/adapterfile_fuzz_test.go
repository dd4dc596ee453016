package peft_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/peft"
)

// FuzzParseAdapterConfig feeds arbitrary JSON to the adapter_config.json reader: it must never
// panic, fail only with one of the package's sentinel errors, and return only configurations
// that pass Validate, with target modules. Seeds: the golden and PEFT-written files of testdata,
// and testdata/fuzz/FuzzParseAdapterConfig.
func FuzzParseAdapterConfig(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	more, err := filepath.Glob(filepath.Join("testdata", "peft-0.19", "*", "adapter_config.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"peft_type":"LORA","target_modules":["q"],"layers_to_transform":3,"init_lora_weights":"gaussian"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, targets, _, err := peft.ParseAdapterConfig(data)
		if err != nil {
			if !errors.Is(err, peft.ErrCorrupt) && !errors.Is(err, peft.ErrUnsupported) && !errors.Is(err, peft.ErrInvalidConfig) {
				t.Fatalf("error %q wraps none of ErrCorrupt, ErrUnsupported, ErrInvalidConfig", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		if len(targets.Modules) == 0 {
			t.Fatal("accepted a configuration without target modules")
		}
	})
}
