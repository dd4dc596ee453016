package peft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/peft/internal/registry"
)

// Meta is what adapter_config.json records about the model an adapter belongs to.
type Meta struct {
	// BaseModel is base_model_name_or_path: the hub name or path of the base checkpoint.
	BaseModel string
	// Revision is the base checkpoint's revision on the hub, if any.
	Revision string
	// TaskType is PEFT's task_type, such as "SEQ_CLS" for sequence classification.
	TaskType string
	// FileMetadata holds extra entries for adapter_model.safetensors' __metadata__ map, which
	// PEFT ignores (unknown keys of adapter_config.json make it warn), such as the base's
	// identity; LoadAdapterMetadata reads them back. LoadAdapterConfig leaves it nil.
	FileMetadata map[string]string
}

// PEFTVersion is the PEFT release whose file format and semantics this package implements and
// has been checked against (integration/interop runs the real library). SaveAdapter writes it as
// peft_version, as PEFT's save_pretrained writes its own version.
const PEFTVersion = "0.21.2"

// commonKeys are the keys of adapter_config.json that every method has; the package reads them
// itself rather than through a Method.
var commonKeys = []string{
	"peft_type", "task_type", "base_model_name_or_path", "revision", "inference_mode", "auto_mapping",
	"peft_version", "runtime_config", "target_modules", "exclude_modules", "layers_to_transform",
	"layers_pattern", "modules_to_save", "bias",
}

// encodeAdapterConfig returns adapter_config.json for c, as PEFT's save_pretrained writes it:
// keys sorted, indented by two spaces, with inference_mode true.
func encodeAdapterConfig(c Config, t Targets, meta Meta) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var targetModules any = t.Modules
	switch {
	case t.Pattern != "" && len(t.Modules) > 0:
		return nil, fmt.Errorf("%w: targets have both a pattern %q and modules %v", ErrInvalidConfig, t.Pattern, t.Modules)
	case t.Pattern != "":
		targetModules = t.Pattern
	case len(t.Modules) == 0:
		return nil, fmt.Errorf("%w: no target_modules", ErrInvalidConfig)
	}
	fields, err := encodeMethodConfig(c)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"peft_type":               c.PeftType(),
		"task_type":               nullIfEmpty(meta.TaskType),
		"base_model_name_or_path": nullIfEmpty(meta.BaseModel),
		"revision":                nullIfEmpty(meta.Revision),
		"inference_mode":          true,
		"auto_mapping":            nil,
		"peft_version":            PEFTVersion,
		"target_modules":          targetModules,
		"exclude_modules":         nil,
		"layers_to_transform":     nil,
		"layers_pattern":          nil,
		"modules_to_save":         nil,
		"bias":                    "none",
	}
	if len(t.LayersToTransform) > 0 {
		out["layers_to_transform"] = t.LayersToTransform
	}
	if len(t.ModulesToSave) > 0 {
		out["modules_to_save"] = t.ModulesToSave
	}
	for k, v := range fields {
		if _, clash := out[k]; clash {
			return nil, fmt.Errorf("peft: method %s encodes the common key %q", c.PeftType(), k)
		}
		out[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil { // maps are encoded with sorted keys
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// LoadAdapterConfig reads dir/adapter_config.json; see ParseAdapterConfig.
func LoadAdapterConfig(dir string) (Config, Targets, Meta, error) {
	path := filepath.Join(dir, AdapterConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Targets{}, Meta{}, err // *fs.PathError names the file; errors.Is(err, fs.ErrNotExist) holds when it is absent
	}
	c, t, meta, err := ParseAdapterConfig(data)
	if err != nil {
		return nil, Targets{}, Meta{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, t, meta, nil
}

// ParseAdapterConfig decodes the JSON of an adapter_config.json written by PEFT or SaveAdapter:
// the method's Config (through its registered Method), the targets and the base model. It fails
// with ErrCorrupt on malformed JSON or a value of the wrong type, ErrUnsupported on a peft_type
// that is not registered or an option in use that this package does not implement (a regular
// expression Go cannot compile, exclude_modules, layers_pattern, a bias other than "none",
// DoRA, …), and ErrInvalidConfig when the method's Config rejects the values.
//
// PEFT appends "classifier" and "score" to modules_to_save of every SEQ_CLS adapter; the Targets
// keep them (without duplicates), and a model without a "score" module should drop that entry.
func ParseAdapterConfig(data []byte) (Config, Targets, Meta, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, Targets{}, Meta{}, fmt.Errorf("%w: adapter_config.json is not a JSON object: %v", ErrCorrupt, err)
	}
	var peftType string
	if err := json.Unmarshal(raw["peft_type"], &peftType); err != nil || peftType == "" {
		return nil, Targets{}, Meta{}, fmt.Errorf("%w: adapter_config.json has no peft_type string", ErrCorrupt)
	}
	m, err := lookupMethod(peftType)
	if err != nil {
		return nil, Targets{}, Meta{}, err
	}
	f, err := registry.NewFields(peftType, raw, ErrCorrupt, ErrUnsupported)
	if err != nil {
		return nil, Targets{}, Meta{}, err
	}
	f.MarkUsed(commonKeys...)
	meta, err := decodeMeta(f)
	if err != nil {
		return nil, Targets{}, Meta{}, err
	}
	t, err := decodeTargets(f)
	if err != nil {
		return nil, Targets{}, Meta{}, err
	}
	c, err := decodeMethodConfig(m, f)
	if err != nil {
		return nil, Targets{}, Meta{}, err
	}
	if err := f.CheckUnused(); err != nil {
		return nil, Targets{}, Meta{}, err
	}
	if err := c.Validate(); err != nil {
		return nil, Targets{}, Meta{}, err
	}
	return c, t, meta, nil
}

func decodeMeta(f *registry.Fields) (Meta, error) {
	var meta Meta
	for key, dst := range map[string]*string{"base_model_name_or_path": &meta.BaseModel, "revision": &meta.Revision, "task_type": &meta.TaskType} {
		if _, err := f.Decode(key, dst); err != nil {
			return Meta{}, err
		}
	}
	return meta, nil
}

// decodeTargets reads target_modules, layers_to_transform and modules_to_save, and checks that
// the options that select modules otherwise are off.
func decodeTargets(f *registry.Fields) (Targets, error) {
	var t Targets
	raw := f.Raw("target_modules")
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return Targets{}, fmt.Errorf("%w: adapter_config.json has no target_modules", ErrCorrupt)
	case json.Unmarshal(raw, &t.Pattern) == nil:
		// One string: PEFT's regular expression on the whole module name, or "all-linear".
		if t.Pattern == "" {
			return Targets{}, fmt.Errorf("%w: adapter_config.json has an empty target_modules", ErrCorrupt)
		}
		if !strings.EqualFold(t.Pattern, AllLinear) {
			if _, err := regexp.Compile(t.Pattern); err != nil {
				return Targets{}, f.Unsupported("target_modules", fmt.Sprintf("a regular expression Go's RE2 cannot read (no lookaround or backreferences): %v", err))
			}
		}
	default:
		if _, err := f.Decode("target_modules", &t.Modules); err != nil {
			return Targets{}, err
		}
		if len(t.Modules) == 0 {
			return Targets{}, fmt.Errorf("%w: adapter_config.json has an empty target_modules", ErrCorrupt)
		}
	}
	// PEFT accepts one layer index as a number, or a list.
	var layer int
	if raw := f.Raw("layers_to_transform"); string(raw) != "null" && json.Unmarshal(raw, &layer) == nil {
		t.LayersToTransform = []int{layer}
	} else if _, err := f.Decode("layers_to_transform", &t.LayersToTransform); err != nil {
		return Targets{}, err
	}
	if len(t.LayersToTransform) == 0 {
		t.LayersToTransform = nil
	}
	if t.Pattern != "" && t.LayersToTransform != nil {
		return Targets{}, fmt.Errorf("%w: layers_to_transform cannot be used with the target_modules string %q (PEFT refuses it too)", ErrInvalidConfig, t.Pattern)
	}
	var save []string
	if _, err := f.Decode("modules_to_save", &save); err != nil {
		return Targets{}, err
	}
	for _, s := range save {
		if !slices.Contains(t.ModulesToSave, s) {
			t.ModulesToSave = append(t.ModulesToSave, s)
		}
	}
	for _, key := range []string{"exclude_modules", "layers_pattern"} {
		if raw := f.Raw(key); raw != nil && !registry.IsOff(raw) {
			return Targets{}, f.Unsupported(key, "modules are selected by target_modules and layers_to_transform only")
		}
	}
	var bias string
	if ok, err := f.Decode("bias", &bias); err != nil {
		return Targets{}, err
	} else if ok && bias != "none" {
		return Targets{}, f.Unsupported("bias", `the base layers' biases stay frozen; only "none" is supported`)
	}
	return t, nil
}
