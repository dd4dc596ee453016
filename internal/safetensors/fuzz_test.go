package safetensors

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary files to the reader: it must never panic, allocate beyond the file's
// size, or return tensors that do not fit the file; a failure is an *Error. Every tensor it
// accepts decodes (or reports an unsupported dtype), and writing the decoded float tensors back
// and parsing them again gives the same values. Committed seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	var valid bytes.Buffer
	if err := Write(&valid, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}, {Name: "b", Shape: []int{}, Data: []float32{3}}}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(file(`{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]}}`, make([]byte, 6)))
	f.Add(file(`{"x":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"y":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := parse(data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		var tensors []Tensor
		for _, e := range parsed.Entries {
			if e.End > int64(len(data)) {
				t.Fatalf("tensor %q ends at %d, beyond the %d-byte file", e.Name, e.End, len(data))
			}
			values, err := parsed.Float32(e)
			if err != nil {
				if IsFloat(e.DType) {
					t.Fatalf("float tensor %q: %v", e.Name, err)
				}
				continue
			}
			if len(values) != e.Numel() {
				t.Fatalf("tensor %q: %d values for shape %v", e.Name, len(values), e.Shape)
			}
			if e.Name != "" {
				tensors = append(tensors, Tensor{Name: e.Name, Shape: e.Shape, Data: values})
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, tensors, parsed.Metadata); err != nil {
			t.Fatalf("writing back: %v", err)
		}
		again, err := parse(buf.Bytes())
		if err != nil {
			t.Fatalf("parsing what Write wrote: %v", err)
		}
		if len(again.Entries) != len(tensors) {
			t.Fatalf("%d tensors written, %d read back", len(tensors), len(again.Entries))
		}
	})
}
