package peft

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
)

// site is one linear layer found in a model, bare or already inside an adapter.
type site struct {
	path   string        // the module name, such as "layers.0.ffn.in"
	goPath string        // the Go expression that reaches it, such as "Layers[0].FFN.In"
	layer  *linear.Model // the bare layer, or nil
	// adapter is the adapter in place of the layer, or nil.
	adapter Adapter
	// set puts an adapter in the layer's place, or is nil when it cannot; problem then says why,
	// of layers in general ("in unexported fields, …").
	set     func(Adapter)
	problem string
	// shared lists the other paths that reach the same layer.
	shared []string
	// gradW and gradB are the layer's gradient flags before it was wrapped.
	gradW, gradB bool
}

var (
	linearType  = reflect.TypeFor[*linear.Model]()
	adapterType = reflect.TypeFor[Adapter]()
	moduleType  = reflect.TypeFor[nn.Module]()
	paramType   = reflect.TypeFor[*nn.Param]()
)

// findLayers walks model, a pointer to a struct, and returns its linear layers and adapters in
// the order of its fields, with the module names of the package doc.
func findLayers(model any) ([]*site, error) {
	v := reflect.ValueOf(model)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: the model must be a non-nil pointer to a struct, got %T", ErrInvalidConfig, model)
	}
	w := walker{seen: map[uintptr]*site{}, visited: map[uintptr]bool{}}
	w.value(v, "", "model", nil)
	names := map[string]string{}
	for _, s := range w.sites {
		if other, dup := names[s.path]; dup {
			return nil, fmt.Errorf("%w: %s and %s both get the module name %q; tag one field with `peft:\"name\"`",
				ErrInvalidConfig, other, s.goPath, s.path)
		}
		names[s.path] = s.goPath
	}
	return w.sites, nil
}

type walker struct {
	sites   []*site
	seen    map[uintptr]*site // linear layers by address, to find shared ones
	visited map[uintptr]bool  // other structs by address, against cycles
}

// value visits v, reached by path and goPath; set, when not nil, stores a value in v's place and
// slot is the type it must have.
func (w *walker) value(v reflect.Value, path, goPath string, set func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		w.held(v.Elem(), path, goPath, v.Type(), set, v.CanInterface())
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		w.held(v, path, goPath, v.Type(), set, v.CanInterface())
	case reflect.Struct:
		w.fields(v, path, goPath)
	case reflect.Slice, reflect.Array:
		if !mayHoldLayers(v.Type().Elem()) {
			return // such as the values of a matrix
		}
		for i := range v.Len() {
			e := v.Index(i)
			var set func(reflect.Value)
			if e.CanSet() {
				set = e.Set
			}
			w.value(e, join(path, strconv.Itoa(i)), fmt.Sprintf("%s[%d]", goPath, i), set)
		}
	case reflect.Map:
		w.mapEntries(v, path, goPath)
	}
}

// held visits the non-nil pointer or interface content v, held in a slot of type slot.
func (w *walker) held(v reflect.Value, path, goPath string, slot reflect.Type, set func(reflect.Value), exported bool) {
	if v.Kind() != reflect.Pointer {
		w.value(v, path, goPath, nil) // a struct held by value in an interface cannot be changed
		return
	}
	if v.Type() == paramType {
		return
	}
	addr := v.Pointer()
	if v.Type() == linearType {
		if s := w.seen[addr]; s != nil {
			s.shared = append(s.shared, path)
			return
		}
		s := &site{path: path, goPath: goPath, layer: (*linear.Model)(v.UnsafePointer())}
		switch {
		case !exported:
			s.problem = "in unexported fields, which reflection cannot change; export such fields"
		case set == nil:
			s.problem = "inside values held in interfaces, which cannot be changed; hold such values by pointer"
		case slot.Kind() != reflect.Interface || !adapterType.Implements(slot):
			s.problem = fmt.Sprintf("held as %s, which cannot hold an adapter; put nn.StandardModel (or an interface of yours that peft.Adapter implements) in its place in the type of the field, slice or map", slot)
		default:
			s.set = func(a Adapter) { set(reflect.ValueOf(a)) }
		}
		w.seen[addr] = s
		w.sites = append(w.sites, s)
		return
	}
	if v.Type().Implements(adapterType) {
		// An adapter in an unexported field is read through its address, where reflection would
		// refuse the field's value.
		if a, ok := reflect.NewAt(v.Type().Elem(), v.UnsafePointer()).Interface().(Adapter); ok {
			w.sites = append(w.sites, &site{path: path, goPath: goPath, adapter: a})
			if base := a.BaseLayer(); base != nil {
				w.seen[reflect.ValueOf(base).Pointer()] = w.sites[len(w.sites)-1]
			}
			return
		}
	}
	if w.visited[addr] {
		return
	}
	w.visited[addr] = true
	w.value(v.Elem(), path, goPath, nil)
}

// fields visits the fields of the struct v.
func (w *walker) fields(v reflect.Value, path, goPath string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == moduleType {
			continue
		}
		name, ok := fieldName(f)
		if !ok {
			continue
		}
		fv := v.Field(i)
		var set func(reflect.Value)
		if fv.CanSet() {
			set = fv.Set
		}
		fieldPath := goPath + "." + f.Name
		if f.Anonymous {
			fieldPath = goPath // promoted, as Go reaches it
		}
		w.value(fv, join(path, name), fieldPath, set)
	}
}

// mapEntries visits the entries of a map with string or integer keys, in key order.
func (w *walker) mapEntries(v reflect.Value, path, goPath string) {
	if !mayHoldLayers(v.Type().Elem()) {
		return
	}
	keys := v.MapKeys()
	switch v.Type().Key().Kind() {
	case reflect.String:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) })
	default:
		return
	}
	for _, k := range keys {
		key := fmt.Sprint(k.Interface())
		var set func(reflect.Value)
		if v.CanInterface() {
			set = func(x reflect.Value) { v.SetMapIndex(k, x) }
		}
		w.value(v.MapIndex(k), join(path, key), fmt.Sprintf("%s[%#v]", goPath, k.Interface()), set)
	}
}

// mayHoldLayers reports whether a value of type t can lead to a linear layer.
func mayHoldLayers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// fieldName returns the module name part of a struct field: the `peft:"name"` tag, or the field's
// name in snake case; "" for an embedded field, whose fields are promoted as in Go. It reports
// false for a field tagged `peft:"-"`.
func fieldName(f reflect.StructField) (string, bool) {
	if tag, ok := f.Tag.Lookup("peft"); ok {
		return tag, tag != "-"
	}
	if f.Anonymous {
		return "", true
	}
	return snakeCase(f.Name), true
}

// snakeCase turns a Go name into PyTorch's style: "FFN" → "ffn", "QueryProj" → "query_proj",
// "HTTPServer" → "http_server", "W1" → "w1".
func snakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// join appends a part to a module name, skipping empty ones.
func join(path, part string) string {
	switch {
	case part == "":
		return path
	case path == "":
		return part
	}
	return path + "." + part
}
