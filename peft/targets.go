package peft

import (
	"errors"
	"fmt"
	"regexp"
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
	// Pattern, when not empty, replaces Modules, as a target_modules string does in PEFT: a
	// regular expression (Go's RE2 syntax, which PEFT's common patterns share) that must match a
	// module's whole name, or AllLinear. LayersToTransform cannot be combined with it (PEFT
	// refuses that too).
	Pattern string `json:"-"`
	// LayersToTransform, when not empty, keeps only modules of these layer indices: the index is
	// the number of the first ".<name>.<index>." part of the full name ("layer.3"). Modules with
	// no layer index are then not adapted.
	LayersToTransform []int `json:"layers_to_transform"`
	// ModulesToSave names modules trained in full beside the adapters, such as a classification
	// head. An entry matches a module if the module's full name or the name of one of its
	// ancestors ends with it, as PEFT matches modules_to_save: "pooler" selects "pooler.dense".
	// As in PEFT, this is a plain string suffix, so "classifier" also selects DistilBERT's
	// "pre_classifier" (PEFT's sequence classification task trains and saves it so).
	ModulesToSave []string `json:"modules_to_save"`
}

// AllLinear is PEFT's target_modules shorthand (in any letter case) for every linear layer but
// the model's output layer. Select reads it as every module it is given: the caller leaves the
// output layer out, as PEFT does for the classifier of a SEQ_CLS model.
const AllLinear = "all-linear"

// DefaultBertTargets is PEFT's default for BERT: adapters on the query and value projections of
// every layer, with the classification head (pooler and classifier) trained in full.
var DefaultBertTargets = Targets{
	Modules:       []string{"query", "value"},
	ModulesToSave: []string{"classifier", "pooler"},
}

// Select returns the names among modules (full names of the adaptable layers) that t adapts, in
// the order of modules. It fails with ErrUnknownTarget if a target or a layer index matches none
// of them, naming it and listing the valid names, and with ErrInvalidConfig on a Pattern that is
// not a valid regular expression or is combined with LayersToTransform.
//
// As in PEFT, a module that ModulesToSave selects (itself or an ancestor, such as "pooler" for
// "pooler.dense") is trained in full and never adapted, whatever the targets say.
func (t Targets) Select(modules []string) ([]string, error) {
	for _, layer := range t.LayersToTransform {
		if !slices.ContainsFunc(modules, func(m string) bool { i, ok := layerIndex(m); return ok && i == layer }) {
			return nil, fmt.Errorf("%w: layers_to_transform has layer %d, which no module has; modules are %s",
				ErrUnknownTarget, layer, describe(modules))
		}
	}
	match, err := t.matcher(modules)
	if err != nil {
		return nil, err
	}
	var selected []string
	for _, m := range modules {
		if match(m) && !slices.ContainsFunc(t.ModulesToSave, func(entry string) bool { return savedBy(m, entry) }) {
			selected = append(selected, m)
		}
	}
	return selected, nil
}

// matcher returns the test of whether t adapts a module, after checking that every target
// matches one of modules.
func (t Targets) matcher(modules []string) (func(string) bool, error) {
	switch {
	case t.Pattern == "":
	case len(t.LayersToTransform) > 0:
		return nil, fmt.Errorf("%w: layers_to_transform cannot be used with the target_modules pattern %q (PEFT refuses it too); list the modules instead",
			ErrInvalidConfig, t.Pattern)
	case strings.EqualFold(t.Pattern, AllLinear):
		return func(string) bool { return true }, nil
	default:
		re, err := regexp.Compile(`^(?:` + t.Pattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%w: target_modules pattern %q is not a regular expression this package reads (Go RE2 syntax: no lookaround or backreferences): %v",
				ErrInvalidConfig, t.Pattern, err)
		}
		if !slices.ContainsFunc(modules, re.MatchString) {
			return nil, fmt.Errorf("%w: target_modules pattern %q matches no whole module name; names are %s",
				ErrUnknownTarget, t.Pattern, describe(modules))
		}
		return re.MatchString, nil
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
	return func(m string) bool {
		return slices.ContainsFunc(t.Modules, func(target string) bool { return t.adapts(m, target) })
	}, nil
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

// savedBy reports whether entry selects module or one of its ancestors: whether one of their
// names ends with entry (PEFT's _set_trainable tests key.endswith(target_key), without a dot).
func savedBy(module, entry string) bool {
	for name := module; ; {
		if strings.HasSuffix(name, entry) {
			return true
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[:i]
	}
}

// layerIndex returns the index of the first ".<name>.<index>." part of a module name after the
// first part, as PEFT 0.21's regular expression `.*?\.[^.]*\.(\d+)\.` finds it (older PEFT
// took the last; BERT's names have only one).
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
	for i := 2; i <= len(parts)-2; i++ {
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
