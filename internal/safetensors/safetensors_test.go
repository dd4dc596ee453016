package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// file assembles a safetensors file from a raw JSON header and a data section, so that tests
// can write headers that lie.
func file(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func parse(b []byte) (*File, error) { return Parse(bytes.NewReader(b), int64(len(b))) }

func TestWriteThenParse(t *testing.T) {
	tensors := []Tensor{
		{Name: "b", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "a", Shape: []int{2}, Data: []float32{-1, float32(math.Inf(1))}},
		{Name: "scalar", Shape: []int{}, Data: []float32{7}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, tensors, map[string]string{"format": "pt"}))
	headerLen := binary.LittleEndian.Uint64(buf.Bytes())
	assert.Zero(t, (8+headerLen)%8, "data section aligned to 8 bytes")

	f, err := parse(buf.Bytes())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt"}, f.Metadata)
	var names []string
	for _, e := range f.Entries {
		names = append(names, e.Name)
		assert.Equal(t, "F32", e.DType)
	}
	assert.Equal(t, []string{"a", "b", "empty", "scalar"}, names, "written in name order")
	for _, want := range tensors {
		for _, e := range f.Entries {
			if e.Name != want.Name {
				continue
			}
			assert.Equal(t, want.Shape, e.Shape)
			got, err := f.Float32(e)
			require.NoError(t, err)
			assert.Equal(t, len(want.Data), len(got))
			if len(want.Data) > 0 {
				assert.Equal(t, want.Data, got)
			}
		}
	}

	var again bytes.Buffer
	require.NoError(t, Write(&again, []Tensor{tensors[2], tensors[0], tensors[3], tensors[1]}, map[string]string{"format": "pt"}))
	assert.Equal(t, buf.Bytes(), again.Bytes(), "output independent of input order")
}

func TestWriteRejects(t *testing.T) {
	for name, tensors := range map[string][]Tensor{
		"shape":     {{Name: "a", Shape: []int{3}, Data: []float32{1, 2}}},
		"duplicate": {{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}},
		"reserved":  {{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}},
		"empty":     {{Name: "", Shape: []int{1}, Data: []float32{1}}},
		"negative":  {{Name: "a", Shape: []int{-1}, Data: nil}},
	} {
		var buf bytes.Buffer
		assert.Error(t, Write(&buf, tensors, nil), name)
		assert.Zero(t, buf.Len(), "%s: nothing written", name)
	}
}

func TestDecodeDTypes(t *testing.T) {
	half := []uint16{0x3c00, 0xc000, 0x0001, 0x8000, 0x7c00, 0x3555}
	wantHalf := []float32{1, -2, 0x1p-24, float32(math.Copysign(0, -1)), float32(math.Inf(1)), 0.33325195}
	bf := []uint16{0x3f80, 0xc040, 0x3eab}
	wantBF := []float32{1, -3, 0.333984375}
	f64 := []float64{0.1, -1e300}
	var data []byte
	for _, h := range half {
		data = binary.LittleEndian.AppendUint16(data, h)
	}
	for _, h := range bf {
		data = binary.LittleEndian.AppendUint16(data, h)
	}
	for _, v := range f64 {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	data = binary.LittleEndian.AppendUint64(data, 42)
	f, err := parse(file(`{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"bf":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},`+
		`"d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]},"i":{"dtype":"I64","shape":[1],"data_offsets":[34,42]}}`, data))
	require.NoError(t, err)
	byName := map[string]Entry{}
	for _, e := range f.Entries {
		byName[e.Name] = e
	}
	got, err := f.Float32(byName["h"])
	require.NoError(t, err)
	for i, w := range wantHalf {
		assert.Equal(t, math.Float32bits(w), math.Float32bits(got[i]), "half %#04x", half[i])
	}
	got, err = f.Float32(byName["bf"])
	require.NoError(t, err)
	assert.Equal(t, wantBF, got)
	got, err = f.Float32(byName["d"])
	require.NoError(t, err)
	assert.Equal(t, []float32{0.1, float32(math.Inf(-1))}, got)
	_, err = f.Float32(byName["i"])
	var se *Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, Unsupported, se.Kind)
	assert.Contains(t, se.Msg, "I64")
}

func TestParseRejectsLyingHeaders(t *testing.T) {
	f32 := func(entries string) string { return "{" + entries + "}" }
	cases := []struct {
		name string
		file []byte
		msg  string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"header too long", file(`{}`, nil)[:9], "exceeds the file size"},
		{"not JSON", file(`{"a":`, nil), "header entry"},
		{"bad key", file(`{1:2}`, nil), "header JSON"},
		{"array", file(`[]`, nil), "not a JSON object"},
		{"trailing", file(`{}{}`, nil), "trailing data"},
		{"duplicate", file(f32(`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), make([]byte, 8)), "twice"},
		{"missing fields", file(f32(`"a":{"dtype":"F32","shape":[1]}`), make([]byte, 4)), "needs dtype"},
		{"reversed offsets", file(f32(`"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}`), make([]byte, 4)), "data_offsets [4, 0]"},
		{"length vs shape", file(f32(`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}`), make([]byte, 4)), "needs 8 bytes"},
		{"negative dim", file(f32(`"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}`), make([]byte, 4)), "shape [-1]"},
		{"huge shape", file(f32(`"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}`), make([]byte, 8)), "shape"},
		{"truncated", file(f32(`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), make([]byte, 4)), "file truncated"},
		{"overlap", file(f32(`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), make([]byte, 8)), "overlap"},
		{"gap", file(f32(`"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), make([]byte, 8)), "belong to no tensor"},
		{"trailing bytes", file(f32(`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`), make([]byte, 8)), "end at byte 4"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.file)
			var se *Error
			require.True(t, errors.As(err, &se), "got %v", err)
			assert.Equal(t, Corrupt, se.Kind)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestParseKeepsUnknownDType(t *testing.T) {
	f, err := parse(file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, make([]byte, 2)))
	require.NoError(t, err)
	_, err = f.Float32(f.Entries[0])
	assert.Contains(t, err.Error(), `unknown dtype "F4"`)
}

func TestParseKeysAreExact(t *testing.T) {
	_, err := parse(file(`{"a":{"DType":"F32","Shape":[1],"Data_Offsets":[0,4]}}`, make([]byte, 4)))
	assert.ErrorContains(t, err, "needs dtype, shape and two data_offsets")
}
