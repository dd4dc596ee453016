package peft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// ErrCannotWrap reports target layers of a model that Wrap cannot replace by adapters, such as a
// field of type *linear.Model; the error says how to change each.
var ErrCannotWrap = errors.New("peft: layer cannot hold an adapter")

// Wrap puts an adapter built by c, with its initial values drawn from rng (math/rand/v2), in the
// place of every linear layer of model that targets select, and returns the adapters by module
// name. model is a pointer to the user's model struct; the package doc says how its layers are
// found and named, and which fields can hold an adapter.
//
// Wrap changes nothing unless it can wrap every selected layer. It fails with ErrUnknownTarget if
// a target matches no layer, ErrCannotWrap naming every selected layer it cannot replace and how
// to change its field, ErrSharedBase if a selected layer is reached by two paths or wrapped
// already, and with the method's errors (such as ErrInvalidConfig) if an adapter cannot be built.
func Wrap(model any, c Config, targets Targets, rng *rand.Rand) (map[string]Adapter, error) {
	if c == nil || rng == nil {
		return nil, fmt.Errorf("%w: Wrap needs a configuration and a math/rand/v2 generator", ErrInvalidConfig)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sites, err := selectLayers(model, targets)
	if err != nil {
		return nil, err
	}
	adapters, err := buildAdapters(sites, c, rng)
	if err != nil {
		return nil, err
	}
	placeAdapters(sites, adapters)
	return adapters, nil
}

// Adapters returns the adapters of model by module name: those Wrap or Load put in, and any the
// model holds otherwise. It fails if model is not a pointer to a struct.
func Adapters(model any) (map[string]Adapter, error) {
	sites, err := findLayers(model)
	if err != nil {
		return nil, err
	}
	adapters := map[string]Adapter{}
	for _, s := range sites {
		if s.adapter != nil {
			adapters[s.path] = s.adapter
		}
	}
	return adapters, nil
}

// selectLayers finds the layers of model that targets select and checks that each is a bare
// layer that can be replaced.
func selectLayers(model any, targets Targets) ([]*site, error) {
	sites, err := findLayers(model)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(sites))
	byName := map[string]*site{}
	for i, s := range sites {
		names[i] = s.path
		byName[s.path] = s
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: the model (%T) has no linear layers (*linear.Model) in exported fields", ErrUnknownTarget, model)
	}
	selected, err := targets.Select(names)
	if err != nil && len(targets.LayersToTransform) > 0 {
		return nil, fmt.Errorf(`%w (a layer index counts only after two name parts, as in PEFT: "encoder.layers.1.ffn" has index 1, a top-level "layers.1.ffn" none)`, err)
	}
	if err != nil {
		return nil, err
	}
	var chosen []*site
	var wrapped []string
	var problems []*site
	for _, name := range selected {
		s := byName[name]
		switch {
		case s.adapter != nil:
			wrapped = append(wrapped, name)
		case len(s.shared) > 0:
			return nil, fmt.Errorf("%w: %s is the same layer as %s; give each path its own layer", ErrSharedBase, name, strings.Join(s.shared, ", "))
		case s.set == nil:
			problems = append(problems, s)
		}
		chosen = append(chosen, s)
	}
	if len(wrapped) > 0 {
		return nil, fmt.Errorf("%w: %s hold adapters already", ErrSharedBase, strings.Join(wrapped, ", "))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrCannotWrap, describeProblems(problems))
	}
	return chosen, nil
}

// buildAdapters builds an adapter for each site, without putting it in place. If one fails, the
// layers get their gradient flags back.
func buildAdapters(sites []*site, c Config, rng *rand.Rand) (map[string]Adapter, error) {
	adapters := make(map[string]Adapter, len(sites))
	for i, s := range sites {
		s.gradW, s.gradB = s.layer.W.RequiresGrad(), s.layer.B.RequiresGrad()
		a, err := c.New(s.layer, rng)
		if err != nil {
			restoreFlags(sites[:i])
			return nil, fmt.Errorf("module %s: %w", s.path, err)
		}
		adapters[s.path] = a
	}
	return adapters, nil
}

// restoreFlags gives the layers of sites the gradient flags they had before buildAdapters froze
// them.
func restoreFlags(sites []*site) {
	for _, s := range sites {
		s.layer.W.SetRequiresGrad(s.gradW)
		s.layer.B.SetRequiresGrad(s.gradB)
	}
}

// placeAdapters puts each adapter in the place of its layer and tells it its module name.
func placeAdapters(sites []*site, adapters map[string]Adapter) {
	for _, s := range sites {
		a := adapters[s.path]
		if n, ok := a.(interface{ SetName(string) }); ok {
			n.SetName(s.path)
		}
		s.set(a)
	}
}

// describeProblems groups layers that cannot be replaced by reason: "a (model.A), b (model.B):
// held as *linear.Model, …", listing a few layers of each group.
func describeProblems(sites []*site) string {
	var reasons []string
	byReason := map[string][]string{}
	for _, s := range sites {
		if byReason[s.problem] == nil {
			reasons = append(reasons, s.problem)
		}
		byReason[s.problem] = append(byReason[s.problem], fmt.Sprintf("%s (%s)", s.path, s.goPath))
	}
	var parts []string
	for _, r := range reasons {
		layers := byReason[r]
		const shown = 4
		if len(layers) > shown {
			layers = append(layers[:shown:shown], fmt.Sprintf("and %d more", len(layers)-shown))
		}
		parts = append(parts, strings.Join(layers, ", ")+": "+r)
	}
	return strings.Join(parts, "; ")
}
