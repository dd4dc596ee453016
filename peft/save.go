package peft

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
)

// Save writes the adapters of model (a pointer to the model Wrap or Load put them in) to dir in
// PEFT's format, as SaveAdapter does: atomically, with the configuration the adapters were built
// with and target_modules derived from their module names (their last parts when those select
// exactly the adapted layers, the full names otherwise). Merged adapters are saved as well. It
// fails with ErrInvalidConfig if model has no adapters or adapters of different configurations.
func Save(dir string, model any) error {
	sites, err := findLayers(model)
	if err != nil {
		return err
	}
	adapters := map[string]Adapter{}
	var names []string
	for _, s := range sites {
		names = append(names, s.path)
		if s.adapter != nil {
			adapters[s.path] = s.adapter
		}
	}
	c, err := sharedConfig(adapters)
	if err != nil {
		return err
	}
	return SaveAdapter(dir, c, Targets{Modules: targetNames(names, adapters)}, adapters, nil, Meta{})
}

// sharedConfig returns the configuration every adapter was built with.
func sharedConfig(adapters map[string]Adapter) (Config, error) {
	if len(adapters) == 0 {
		return nil, fmt.Errorf("%w: the model has no adapters; put them in with peft.Wrap", ErrInvalidConfig)
	}
	var c Config
	var first string
	for _, name := range slices.Sorted(maps.Keys(adapters)) {
		built, err := ConfigOf(adapters[name])
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		if c == nil {
			c, first = built, name
		} else if !reflect.DeepEqual(built, c) {
			return nil, fmt.Errorf("%w: the adapters of %s (%+v) and %s (%+v) have different configurations; an adapter file holds one",
				ErrInvalidConfig, first, c, name, built)
		}
	}
	return c, nil
}

// targetNames returns target_modules that select exactly the adapted modules among names: their
// distinct last parts if these do, their full names otherwise.
func targetNames(names []string, adapters map[string]Adapter) []string {
	adapted := slices.Sorted(maps.Keys(adapters))
	var short []string
	for _, name := range adapted {
		last := name[strings.LastIndexByte(name, '.')+1:]
		if !slices.Contains(short, last) {
			short = append(short, last)
		}
	}
	if selected, err := (Targets{Modules: short}).Select(names); err == nil && slices.Equal(slices.Sorted(slices.Values(selected)), adapted) {
		return short
	}
	return adapted
}

// Load reads an adapter directory written by Save, SaveAdapter or PEFT's save_pretrained into
// model, a pointer to the user's model, and returns its adapters by module name. If model has no
// adapters, Load wraps the layers that the file's target_modules select, as Wrap does, with
// adapters of the file's configuration; if it has, they must be exactly those layers, unmerged and
// of the file's configuration, and Load sets their parameters. Nothing in model changes unless
// every tensor loads. It fails with the errors of Wrap, LoadAdapterConfig and LoadAdapterTensors,
// and with ErrMerged for a merged adapter.
func Load(dir string, model any) (map[string]Adapter, error) {
	c, targets, _, err := LoadAdapterConfig(dir)
	if err != nil {
		return nil, err
	}
	existing, err := Adapters(model)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if err := checkLoadable(existing, c, targets, model); err != nil {
			return nil, err
		}
		return existing, loadParams(dir, existing)
	}
	sites, err := selectLayers(model, targets)
	if err != nil {
		return nil, err
	}
	// The file's values replace the initial ones, so the generator only seeds dropout.
	adapters, err := buildAdapters(sites, c, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if err := loadParams(dir, adapters); err != nil {
		restoreFlags(sites)
		return nil, err
	}
	placeAdapters(sites, adapters)
	return adapters, nil
}

// checkLoadable checks that the adapters of a wrapped model can take the file's tensors.
func checkLoadable(existing map[string]Adapter, c Config, targets Targets, model any) error {
	sites, err := findLayers(model)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range sites {
		names = append(names, s.path)
	}
	selected, err := targets.Select(names)
	if err != nil {
		return err
	}
	slices.Sort(selected)
	if adapted := slices.Sorted(maps.Keys(existing)); !slices.Equal(selected, adapted) {
		return fmt.Errorf("%w: the file's targets select %v, but the model's adapters are on %v", ErrTensorMismatch, selected, adapted)
	}
	want, err := encodedConfig(c)
	if err != nil {
		return err
	}
	for _, name := range selected {
		a := existing[name]
		if a.Merged() {
			return fmt.Errorf("%w: module %s is merged; unmerge it before loading new values", ErrMerged, name)
		}
		built, err := ConfigOf(a)
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		got, err := encodedConfig(built)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("%w: module %s has an adapter configured %+v, the file %+v", ErrInvalidConfig, name, built, c)
		}
	}
	return nil
}

// encodedConfig returns c as adapter_config.json stores it, which leaves out options PEFT does
// not have (such as HRA's regulariser weight).
func encodedConfig(c Config) (map[string]any, error) {
	fields, err := encodeMethodConfig(c)
	if err != nil {
		return nil, err
	}
	fields["peft_type"] = c.PeftType()
	return fields, nil
}

// loadParams reads the tensors of adapters from dir into their parameters.
func loadParams(dir string, adapters map[string]Adapter) error {
	params, err := AdapterParams(adapters)
	if err != nil {
		return err
	}
	want := make(map[string][]int, len(params))
	for key, p := range params {
		want[key] = p.Shape()
	}
	tensors, err := LoadAdapterTensors(dir, want)
	if err != nil {
		return err
	}
	return SetParams(params, tensors)
}
