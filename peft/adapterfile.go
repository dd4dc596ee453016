package peft

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/atomicdir"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// File names and key prefix of an adapter directory in PEFT's format, as save_pretrained writes
// it and PeftModel.from_pretrained reads it.
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
	// KeyPrefix starts every tensor key: PEFT's wrapper is "base_model", whose "model" is the
	// wrapped transformers model, and the adapter's name ("default") is removed from the keys.
	KeyPrefix = "base_model.model."
)

// Errors of adapter files, beside ErrInvalidConfig and ErrInvalidParams.
var (
	// ErrUnsupported reports a well-formed adapter file that uses something this package does
	// not implement: a peft_type that is not registered, an option in use, an integer dtype.
	ErrUnsupported = errors.New("peft: unsupported")
	// ErrCorrupt reports a malformed adapter file: invalid JSON, a value of the wrong type, a
	// truncated file or a safetensors header whose offsets do not match its tensors.
	ErrCorrupt = errors.New("peft: corrupt adapter file")
	// ErrTensorMismatch reports adapter tensors that do not fit the model: a tensor missing from
	// the file, one the model does not have, or a shape other than the model's.
	ErrTensorMismatch = errors.New("peft: adapter tensors do not match the model")
)

// Tensor is one tensor of an adapter file: its shape as stored (PEFT's, such as [out] for a
// bias) and its values in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// TensorKey returns the key of an adapter file for the tensor suffix (such as "hra_u") of the
// module with the given path in the model (such as "bert.encoder.layer.0.attention.self.query").
func TensorKey(module, suffix string) string { return KeyPrefix + module + "." + suffix }

// AdapterParams returns the parameters of adapters (keyed by module path) under their keys in an
// adapter file, through each adapter's method.
func AdapterParams(adapters map[string]Adapter) (map[string]*nn.Param, error) {
	params := map[string]*nn.Param{}
	for module, a := range adapters {
		_, ps, err := stateOf(a)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", module, err)
		}
		for suffix, p := range ps {
			params[TensorKey(module, suffix)] = p
		}
	}
	return params, nil
}

// SaveAdapter writes dir/adapter_config.json and dir/adapter_model.safetensors as PEFT's
// save_pretrained does, so that PeftModel.from_pretrained loads them: the configuration c with
// targets and meta, and the parameters of adapters (keyed by module path in the model, such as
// "bert.encoder.layer.0.attention.self.query") as F32 tensors under TensorKey, with extra (keyed
// by full key, such as "base_model.model.classifier.weight": the modules to save). Values of
// float64 adapters are rounded to float32.
//
// Both files are written into a temporary directory beside dir, which then takes dir's place by
// renaming (dir's other files are hard-linked into it, never moved; see internal/atomicdir): an error or a crash part-way never leaves a
// half-written or mixed adapter in dir. SaveAdapter fails with ErrInvalidConfig if an adapter was built with
// another configuration than c or targets do not select exactly the adapted modules, and with
// ErrInvalidParams on NaN or infinite values. The HRA regulariser weight, which PEFT does not
// have, is not stored.
func SaveAdapter(dir string, c Config, targets Targets, adapters map[string]Adapter, extra map[string]Tensor, meta Meta) error {
	if c == nil || len(adapters) == 0 {
		return fmt.Errorf("%w: SaveAdapter needs a configuration and at least one adapter", ErrInvalidConfig)
	}
	modules := make([]string, 0, len(adapters))
	for module, a := range adapters {
		built, err := ConfigOf(a)
		if err != nil {
			return fmt.Errorf("module %s: %w", module, err)
		}
		if !reflect.DeepEqual(built, c) {
			return fmt.Errorf("%w: the adapter of %s was built with %+v, not the configuration to save %+v", ErrInvalidConfig, module, built, c)
		}
		if err := a.Validate(); err != nil {
			return fmt.Errorf("module %s: %w", module, err)
		}
		modules = append(modules, module)
	}
	sort.Strings(modules)
	if selected, err := targets.Select(modules); err != nil || !slices.Equal(selected, modules) {
		return fmt.Errorf("%w: targets %+v do not select exactly the adapted modules %v (%v)", ErrInvalidConfig, targets, modules, err)
	}
	config, err := encodeAdapterConfig(c, targets, meta)
	if err != nil {
		return err
	}
	tensors, err := fileTensors(adapters, extra)
	if err != nil {
		return err
	}
	metadata := map[string]string{"format": "pt"}
	for key, value := range meta.FileMetadata {
		if key != "format" {
			metadata[key] = value
		}
	}
	return atomicdir.Write(dir, []atomicdir.File{
		{Name: AdapterConfigFile, Write: func(w io.Writer) error { _, err := w.Write(config); return err }},
		{Name: AdapterWeightsFile, Write: func(w io.Writer) error {
			return safetensors.Write(w, tensors, metadata)
		}},
	})
}

// fileTensors collects the tensors to write: the adapters' parameters and extra.
func fileTensors(adapters map[string]Adapter, extra map[string]Tensor) ([]safetensors.Tensor, error) {
	params, err := AdapterParams(adapters)
	if err != nil {
		return nil, err
	}
	var tensors []safetensors.Tensor
	for key, p := range params {
		tensors = append(tensors, safetensors.Tensor{Name: key, Shape: p.Shape(), Data: p.Value().Data().F32()})
	}
	for key, t := range extra {
		if params[key] != nil {
			return nil, fmt.Errorf("%w: extra tensor %s is also an adapter parameter", ErrInvalidConfig, key)
		}
		tensors = append(tensors, safetensors.Tensor{Name: key, Shape: t.Shape, Data: t.Data})
	}
	for _, t := range tensors {
		if n, ok := numel(t.Shape); !ok || n != len(t.Data) {
			return nil, fmt.Errorf("%w: tensor %s has shape %v but %d values", ErrInvalidConfig, t.Name, t.Shape, len(t.Data))
		}
		if i := slices.IndexFunc(t.Data, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }); i >= 0 {
			return nil, fmt.Errorf("%w: tensor %s has value %v at index %d", ErrInvalidParams, t.Name, t.Data[i], i)
		}
	}
	return tensors, nil
}

// LoadAdapterTensors reads dir/adapter_model.safetensors, which must hold exactly the tensors of
// want (key → shape), and returns them converted to float32 (F16, BF16, F32 and F64 are read).
// It fails with ErrTensorMismatch on a missing or unexpected tensor or a wrong shape (naming them
// all), ErrCorrupt on a malformed file, ErrUnsupported on another dtype, and ErrInvalidParams on
// NaN or infinite values.
func LoadAdapterTensors(dir string, want map[string][]int) (map[string]Tensor, error) {
	path := filepath.Join(dir, AdapterWeightsFile)
	file, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file; errors.Is(err, fs.ErrNotExist) holds when it is absent
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	tensors, err := readTensors(file, info.Size(), want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, nil
}

// readTensors decodes a safetensors file that must hold exactly the tensors of want.
func readTensors(r io.ReaderAt, size int64, want map[string][]int) (map[string]Tensor, error) {
	f, err := safetensors.Parse(r, size)
	if err != nil {
		return nil, safetensorsError(err)
	}
	if err := matchTensors(f.Entries, want); err != nil {
		return nil, err
	}
	tensors := make(map[string]Tensor, len(f.Entries))
	for _, e := range f.Entries {
		data, err := f.Float32(e)
		if err != nil {
			return nil, safetensorsError(err)
		}
		if i := slices.IndexFunc(data, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }); i >= 0 {
			return nil, fmt.Errorf("%w: tensor %s has value %v at index %d", ErrInvalidParams, e.Name, data[i], i)
		}
		tensors[e.Name] = Tensor{Shape: e.Shape, Data: data}
	}
	return tensors, nil
}

// matchTensors checks the file's entries against want, reporting every difference.
func matchTensors(entries []safetensors.Entry, want map[string][]int) error {
	var problems []string
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name] = true
		shape, ok := want[e.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("unexpected tensor %s %v", e.Name, e.Shape))
		case !slices.Equal(shape, e.Shape):
			problems = append(problems, fmt.Sprintf("tensor %s has shape %v, the model needs %v", e.Name, e.Shape, shape))
		}
	}
	for key, shape := range want {
		if !have[key] {
			problems = append(problems, fmt.Sprintf("missing tensor %s %v", key, shape))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	const shown = 8
	if len(problems) > shown {
		problems = append(problems[:shown], fmt.Sprintf("and %d more", len(problems)-shown))
	}
	return fmt.Errorf("%w: %s", ErrTensorMismatch, strings.Join(problems, "; "))
}

// safetensorsError maps a safetensors failure to this package's errors.
func safetensorsError(err error) error {
	var se *safetensors.Error
	if errors.As(err, &se) && se.Kind == safetensors.Unsupported {
		return fmt.Errorf("%w: %s", ErrUnsupported, se.Msg)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// SetParams copies each tensor into the parameter of the same key, converting to the parameter's
// element type. Every parameter must have a tensor with as many values; nothing is copied
// otherwise.
func SetParams(params map[string]*nn.Param, tensors map[string]Tensor) error {
	for key, p := range params {
		t, ok := tensors[key]
		if !ok {
			return fmt.Errorf("%w: missing tensor %s", ErrTensorMismatch, key)
		}
		if len(t.Data) != p.Value().Size() {
			return fmt.Errorf("%w: tensor %s has %d values, the parameter %v", ErrTensorMismatch, key, len(t.Data), p.Shape())
		}
	}
	for key, p := range params {
		op.Forget(p) // a frozen weight's kept packing would go stale
		p.Value().(mat.Matrix).SetData(float.Make(tensors[key].Data...))
	}
	return nil
}

// numel multiplies the dimensions, reporting false on a negative dimension or an overflow.
func numel(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}
