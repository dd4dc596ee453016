package checkpoint

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// Tensor is a dense float32 tensor in row-major order. A Linear weight has
// the Hugging Face shape [out, in]; an embedding table is [rows, dim].
type Tensor struct {
	Shape []int
	Data  []float32
}

// Numel is the number of elements the shape implies.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Equal reports whether both tensors have the same shape and bit-identical
// data (so NaNs with the same payload compare equal).
func (t *Tensor) Equal(u *Tensor) bool {
	if !slices.Equal(t.Shape, u.Shape) || len(t.Data) != len(u.Data) {
		return false
	}
	for i, v := range t.Data {
		if math.Float32bits(v) != math.Float32bits(u.Data[i]) {
			return false
		}
	}
	return true
}

// dtype is an element type of a stored tensor.
type dtype struct {
	name    string // safetensors spelling
	size    int    // bytes per element
	decoder func(raw []byte, dst []float32)
}

// float reports whether values of this dtype can be converted to float32.
func (d dtype) float() bool { return d.decoder != nil }

var (
	dtypeF16  = floatDType("F16", 2)
	dtypeBF16 = floatDType("BF16", 2)
	dtypeF32  = floatDType("F32", 4)
	dtypeF64  = floatDType("F64", 8)
)

// floatDType is a dtype whose values internal/safetensors converts to float32.
func floatDType(name string, size int) dtype {
	return dtype{name, size, func(raw []byte, dst []float32) { safetensors.DecodeFloat32(name, raw, dst) }}
}

// canonicalName maps a stored parameter name to the name this package uses,
// or reports false for tensors the encoder never needs (the pre-training
// heads and the position_ids buffer). The base-model prefix of every
// architecture ("bert.", "roberta.", …) is stripped.
func canonicalName(stored string) (string, bool) {
	name := stored
	for _, a := range Architectures {
		if rest, ok := strings.CutPrefix(stored, a.Prefix+"."); ok {
			name = rest
			break
		}
	}
	if slices.ContainsFunc(droppedPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) || slices.Contains(droppedBuffers, name) {
		return "", false
	}
	if base, ok := strings.CutSuffix(name, "LayerNorm.gamma"); ok {
		return base + "LayerNorm.weight", true
	}
	if base, ok := strings.CutSuffix(name, "LayerNorm.beta"); ok {
		return base + "LayerNorm.bias", true
	}
	return name, true
}

// tensorSet collects tensors under their canonical names.
type tensorSet struct {
	tensors map[string]*Tensor
	stored  map[string]string // canonical name -> stored name, to report collisions
}

func newTensorSet() *tensorSet {
	return &tensorSet{tensors: map[string]*Tensor{}, stored: map[string]string{}}
}

func (s *tensorSet) add(canonical, stored string, t *Tensor) error {
	if prev, dup := s.stored[canonical]; dup {
		return fmt.Errorf("%w: tensors %q and %q both map to %q", ErrCorrupt, prev, stored, canonical)
	}
	s.stored[canonical] = stored
	s.tensors[canonical] = t
	return nil
}

// numel multiplies dimensions, reporting false on a negative dimension or
// if the product exceeds limit.
func numel(shape []int, limit int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > limit/d {
			return 0, false
		}
		n *= d
	}
	return n, n <= limit
}
