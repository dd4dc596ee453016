package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadSafetensorsTinyBERT(t *testing.T) {
	tensors, err := LoadSafetensors(filepath.Join(tinyDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	// 5 embedding tensors, 16 per layer, pooler and classifier.
	if len(tensors) != 5+2*16+2+2 {
		t.Errorf("got %d tensors", len(tensors))
	}
	for _, name := range []string{"embeddings.position_ids", "bert.embeddings.position_ids", "bert.pooler.dense.weight"} {
		if tensors[name] != nil {
			t.Errorf("tensor %q should not be there", name)
		}
	}
	q := tensors["encoder.layer.1.attention.self.query.weight"]
	if q == nil || q.Shape[0] != 32 || q.Shape[1] != 32 || len(q.Data) != 32*32 {
		t.Fatalf("query weight %v", q)
	}
	if w := tensors["classifier.weight"]; w == nil || w.Shape[0] != 3 || w.Shape[1] != 32 {
		t.Errorf("classifier weight %v", w)
	}
}

// TestLoadSafetensorsF16 checks the F16 variant against the F32 file: every
// value is the F32 one rounded to half precision.
func TestLoadSafetensorsF16(t *testing.T) {
	f32, err := LoadSafetensors(filepath.Join(tinyDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	f16, err := LoadSafetensors(filepath.Join(tinyDir, "model-f16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f16) != len(f32) {
		t.Fatalf("%d F16 tensors, %d F32", len(f16), len(f32))
	}
	for name, want := range f32 {
		got := f16[name]
		for i, w := range want.Data {
			// Half precision keeps 11 significant bits; below 2^-14 the
			// spacing is fixed at 2^-24.
			tol := math.Max(math.Abs(float64(w))*math.Pow(2, -11), math.Pow(2, -25))
			if d := math.Abs(float64(got.Data[i] - w)); d > tol {
				t.Fatalf("%s[%d] = %g, F32 %g: differs by %g > %g", name, i, got.Data[i], w, d, tol)
			}
		}
	}
}

// TestSafetensorsDTypes checks the conversion of every supported dtype on
// bit patterns with known values, including subnormals, infinities and NaN.
func TestSafetensorsDTypes(t *testing.T) {
	u16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		return b
	}
	tests := []struct {
		dtype string
		data  []byte
		want  []float32
	}{
		{"F16", u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x3555),
			[]float32{1, -2, 65504, 0x1p-24, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 0.333251953125}},
		{"BF16", u16(0x3f80, 0xc000, 0x3eab, 0x0001, 0x7f80),
			[]float32{1, -2, 0.333984375, 0x1p-133, float32(math.Inf(1))}},
		{"F32", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-1e-40)),
			[]float32{1.5, -1e-40}},
		{"F64", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(-3)),
			[]float32{0.1, -3}},
	}
	for _, tt := range tests {
		t.Run(tt.dtype, func(t *testing.T) {
			header := `{"x":{"dtype":"` + tt.dtype + `","shape":[` + itoa(len(tt.want)) + `],"data_offsets":[0,` + itoa(len(tt.data)) + `]}}`
			tensors, err := LoadSafetensors(writeTemp(t, "m.safetensors", safetensorsBytes(header, tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			got := &Tensor{Shape: []int{len(tt.want)}, Data: tt.want}
			if !got.Equal(tensors["x"]) {
				t.Errorf("got %v, want %v", tensors["x"].Data, tt.want)
			}
		})
	}
	t.Run("F16 NaN", func(t *testing.T) {
		header := `{"x":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}`
		tensors, err := LoadSafetensors(writeTemp(t, "m.safetensors", safetensorsBytes(header, u16(0x7e00))))
		if err != nil {
			t.Fatal(err)
		}
		if x := tensors["x"]; len(x.Shape) != 0 || len(x.Data) != 1 || !math.IsNaN(float64(x.Data[0])) {
			t.Errorf("got %+v, want a NaN scalar", x)
		}
	})
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestSafetensorsNames(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},` +
		`"bert.embeddings.LayerNorm.gamma":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"bert.embeddings.LayerNorm.beta":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},` +
		`"cls.predictions.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},` +
		`"bert.embeddings.position_ids":{"dtype":"I64","shape":[1],"data_offsets":[12,20]},` +
		`"embeddings.position_ids":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[20,22]},` +
		`"classifier.bias":{"dtype":"F32","shape":[1],"data_offsets":[22,26]}}`
	tensors, err := LoadSafetensors(writeTemp(t, "m.safetensors", safetensorsBytes(header, make([]byte, 26))))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"classifier.bias", "embeddings.LayerNorm.bias", "embeddings.LayerNorm.weight"}
	if got := sortedKeys(tensors); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("names %v, want %v", got, want)
	}
}

func TestLoadSafetensorsErrors(t *testing.T) {
	valid := func(dtype string, shape string, begin, end int) string {
		return `{"x":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":[` + itoa(begin) + `,` + itoa(end) + `]}}`
	}
	tiny, err := os.ReadFile(filepath.Join(tinyDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	hugeLength := binary.LittleEndian.AppendUint64(nil, 1<<62)
	tests := []struct {
		name     string
		file     []byte
		sentinel error
		mentions string
	}{
		{"empty file", nil, ErrCorrupt, "too short"},
		{"half a length", []byte{1, 2, 3, 4}, ErrCorrupt, "too short"},
		{"header longer than file", safetensorsBytes(valid("F32", "[1]", 0, 4), make([]byte, 4))[:20], ErrCorrupt, "header length"},
		{"absurd header length", append(hugeLength, "{}"...), ErrCorrupt, "header length"},
		{"truncated data", tiny[:len(tiny)-100], ErrCorrupt, "truncated"},
		{"header not JSON", safetensorsBytes(`{"x":`, nil), ErrCorrupt, "header"},
		{"header an array", safetensorsBytes(`[1, 2]`, nil), ErrCorrupt, "JSON object"},
		{"trailing JSON", safetensorsBytes(`{} {}`, nil), ErrCorrupt, "trailing"},
		{"duplicate name", safetensorsBytes(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrCorrupt, `"x" twice`},
		{"missing dtype", safetensorsBytes(`{"x":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrCorrupt, `"x"`},
		{"one offset", safetensorsBytes(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, make([]byte, 4)), ErrCorrupt, `"x"`},
		{"negative dim", safetensorsBytes(valid("F32", "[-1]", 0, 4), make([]byte, 4)), ErrCorrupt, `"x"`},
		{"reversed offsets", safetensorsBytes(valid("F32", "[1]", 4, 0), make([]byte, 4)), ErrCorrupt, "data_offsets"},
		{"size disagrees with shape", safetensorsBytes(valid("F32", "[2]", 0, 4), make([]byte, 8)), ErrCorrupt, "needs 8 bytes"},
		{"shape overflows", safetensorsBytes(valid("F32", "[4294967296,4294967296]", 0, 4), make([]byte, 4)), ErrCorrupt, `"x"`},
		{"offsets past the end", safetensorsBytes(valid("F32", "[2]", 4, 12), make([]byte, 8)), ErrCorrupt, "truncated"},
		{"overlap", safetensorsBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrCorrupt, "overlap"},
		{"gap", safetensorsBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrCorrupt, "belong to no tensor"},
		{"integer weights", safetensorsBytes(valid("I32", "[1]", 0, 4), make([]byte, 4)), ErrUnsupported, "I32"},
		{"8-bit float weights", safetensorsBytes(valid("F8_E5M2", "[4]", 0, 4), make([]byte, 4)), ErrUnsupported, "F8_E5M2"},
		{"unknown dtype", safetensorsBytes(valid("F4", "[1]", 0, 1), make([]byte, 1)), ErrUnsupported, `"F4"`},
		{"two names for one tensor", safetensorsBytes(`{"bert.x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrCorrupt, "both map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSafetensors(writeTemp(t, "m.safetensors", tt.file))
			requireError(t, err, tt.sentinel, tt.mentions, "m.safetensors")
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadSafetensors(filepath.Join(t.TempDir(), "none.safetensors"))
		requireError(t, err, ErrNotFound, "none.safetensors")
	})
}
