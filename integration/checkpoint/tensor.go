package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
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
	dtypeF16  = dtype{"F16", 2, decodeF16}
	dtypeBF16 = dtype{"BF16", 2, decodeBF16}
	dtypeF32  = dtype{"F32", 4, decodeF32}
	dtypeF64  = dtype{"F64", 8, decodeF64}
)

// safetensorsDTypes lists every dtype of the safetensors format; only the
// float ones can be loaded, the others may appear in tensors that are dropped.
var safetensorsDTypes = map[string]dtype{
	"F16": dtypeF16, "BF16": dtypeBF16, "F32": dtypeF32, "F64": dtypeF64,
	"BOOL": {name: "BOOL", size: 1}, "U8": {name: "U8", size: 1}, "I8": {name: "I8", size: 1},
	"F8_E5M2": {name: "F8_E5M2", size: 1}, "F8_E4M3": {name: "F8_E4M3", size: 1},
	"I16": {name: "I16", size: 2}, "U16": {name: "U16", size: 2},
	"I32": {name: "I32", size: 4}, "U32": {name: "U32", size: 4},
	"I64": {name: "I64", size: 8}, "U64": {name: "U64", size: 8},
}

func decodeF16(raw []byte, dst []float32) {
	for i := range dst {
		dst[i] = halfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
}

// halfToFloat32 converts IEEE 754 binary16 bits exactly, including signed
// zeros, subnormals, infinities and NaN payloads. (gopickle's
// FloatBits16to32 gets subnormals, -0, infinities and NaN wrong.)
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant · 2^-24, exact in float32
		f := float32(mant) * 0x1p-24
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

func decodeBF16(raw []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
	}
}

func decodeF32(raw []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
}

func decodeF64(raw []byte, dst []float32) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
	}
}

// canonicalName maps a stored parameter name to the name this package uses,
// or reports false for tensors the encoder never needs (the masked-LM head
// and the position_ids buffer).
func canonicalName(stored string) (string, bool) {
	name := strings.TrimPrefix(stored, "bert.")
	if strings.HasPrefix(name, "cls.") || name == "embeddings.position_ids" {
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
