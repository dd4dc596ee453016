package peft

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrUnknownTarget reports a target module, a layer index or a module to save that matches no
// module of the model: a misspelt name would otherwise leave the model silently unadapted.
var ErrUnknownTarget = errors.New("peft: target matches no module")

// Targets chooses the modules that get adapters and the modules trained in full, with the JSON
// names and the matching rules of PEFT's adapter_config.json.
type Targets struct {
	// Modules names the linear layers to adapt. A module's full name, such as
	// "encoder.layer.0.attention.self.query", matches an entry equal to it or ending with "."
	// followed by the entry, so "query" or "self.query" select the query projection of every layer.
	Modules []string `json:"target_modules"`
	// LayersToTransform, when not empty, keeps only modules of these layer indices: the index is
	// the number of the last ".<name>.<index>." part of the full name ("layer.3"). Modules with
	// no layer index are then not adapted.
	LayersToTransform []int `json:"layers_to_transform"`
	// ModulesToSave names modules trained in full beside the adapters, such as a classification
	// head. An entry matches a module if it matches the module's full name or the name of one of
	// its ancestors by the rule of Modules: "pooler" selects "pooler.dense".
	ModulesToSave []string `json:"modules_to_save"`
}

// DefaultBertTargets is PEFT's default for BERT: adapters on the query and value projections of
// every layer, with the classification head (pooler and classifier) trained in full.
var DefaultBertTargets = Targets{
	Modules:       []string{"query", "value"},
	ModulesToSave: []string{"classifier", "pooler"},
}

// Select returns the names among modules (full names of the adaptable layers) that t adapts, in
// the order of modules. It fails with ErrUnknownTarget if a target or a layer index matches none
// of them, naming it and listing the valid names.
func (t Targets) Select(modules []string) ([]string, error) {
	for _, layer := range t.LayersToTransform {
		if !slices.ContainsFunc(modules, func(m string) bool { i, ok := layerIndex(m); return ok && i == layer }) {
			return nil, fmt.Errorf("%w: layers_to_transform has layer %d, which no module has; modules are %s",
				ErrUnknownTarget, layer, describe(modules))
		}
	}
	for _, target := range t.Modules {
		if !slices.ContainsFunc(modules, func(m string) bool { return t.adapts(m, target) }) {
			where := ""
			if len(t.LayersToTransform) > 0 {
				where = fmt.Sprintf(" in layers %v", t.LayersToTransform)
			}
			return nil, fmt.Errorf("%w: target module %q matches no module%s; valid names are %s",
				ErrUnknownTarget, target, where, describe(modules))
		}
	}
	var selected []string
	for _, m := range modules {
		if slices.ContainsFunc(t.Modules, func(target string) bool { return t.adapts(m, target) }) {
			selected = append(selected, m)
		}
	}
	return selected, nil
}

// SelectSaved returns the names among modules (full names of the model's leaf modules) that
// ModulesToSave selects, in the order of modules. It fails with ErrUnknownTarget if an entry
// matches none of them.
func (t Targets) SelectSaved(modules []string) ([]string, error) {
	for _, entry := range t.ModulesToSave {
		if !slices.ContainsFunc(modules, func(m string) bool { return savedBy(m, entry) }) {
			return nil, fmt.Errorf("%w: module to save %q matches no module; valid names are %s", ErrUnknownTarget, entry, describe(modules))
		}
	}
	var selected []string
	for _, m := range modules {
		if slices.ContainsFunc(t.ModulesToSave, func(entry string) bool { return savedBy(m, entry) }) {
			selected = append(selected, m)
		}
	}
	return selected, nil
}

// adapts reports whether target selects module, within LayersToTransform.
func (t Targets) adapts(module, target string) bool {
	if !nameMatches(module, target) {
		return false
	}
	if len(t.LayersToTransform) == 0 {
		return true
	}
	i, ok := layerIndex(module)
	return ok && slices.Contains(t.LayersToTransform, i)
}

// nameMatches is PEFT's rule: the name equals the target or ends with "." + target.
func nameMatches(name, target string) bool {
	return name == target || strings.HasSuffix(name, "."+target)
}

// savedBy reports whether entry selects module or one of its ancestors.
func savedBy(module, entry string) bool {
	for name := module; ; {
		if nameMatches(name, entry) {
			return true
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[:i]
	}
}

// layerIndex returns the index of the last ".<name>.<index>." part of a module name, as PEFT's
// regular expression `.*\.[^.]*\.(\d+)\.` finds it.
func layerIndex(module string) (int, bool) {
	parts := strings.Split(module, ".")
	i := layerPart(parts)
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(parts[i])
	return n, err == nil
}

// layerPart returns the position in parts of the layer index that layerIndex reads, or -1.
func layerPart(parts []string) int {
	for i := len(parts) - 2; i >= 2; i-- {
		if parts[i] != "" && strings.Trim(parts[i], "0123456789") == "" {
			return i
		}
	}
	return -1
}

// describe lists module names for an error message, with layer indices replaced by N so that a
// deep model gives a short list.
func describe(modules []string) string {
	var names []string
	for _, m := range modules {
		parts := strings.Split(m, ".")
		if i := layerPart(parts); i >= 0 {
			parts[i] = "N"
		}
		if name := strings.Join(parts, "."); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return "[" + strings.Join(names, ", ") + "] (or a dot-suffix of one, such as its last part)"
}
