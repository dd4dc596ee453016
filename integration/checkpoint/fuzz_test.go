package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// checkLoadResult holds for any input: either a clear sentinel error, or
// tensors whose data length matches their shape.
func checkLoadResult(t *testing.T, tensors map[string]*Tensor, err error) {
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error %q wraps neither ErrCorrupt nor ErrUnsupported", err)
		}
		return
	}
	for name, tensor := range tensors {
		if tensor.Numel() != len(tensor.Data) {
			t.Fatalf("tensor %q: shape %v but %d values", name, tensor.Shape, len(tensor.Data))
		}
	}
}

// FuzzLoadSafetensors feeds arbitrary files to the safetensors reader, which
// must never panic or allocate beyond the file size. Committed seeds live in
// testdata/fuzz/FuzzLoadSafetensors.
func FuzzLoadSafetensors(f *testing.F) {
	f.Add(safetensorsBytes(`{"__metadata__":{"format":"pt"},"bert.x.LayerNorm.gamma":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]}}`, make([]byte, 6)))
	f.Add(safetensorsBytes(`{"x":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"cls.y":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, file []byte) {
		tensors, err := readSafetensors(bytes.NewReader(file), int64(len(file)))
		checkLoadResult(t, tensors, err)
	})
}

// FuzzLoadPyTorch does the same for torch.save files. Mutations of the zip
// seeds mostly stop at the CRC check; the legacy seed, which has no
// checksum, lets the fuzzer reach the pickle reader.
func FuzzLoadPyTorch(f *testing.F) {
	for _, name := range []string{"dtypes.bin", "dtypes-legacy.bin", "int-tensor.bin"} {
		data, err := os.ReadFile(filepath.Join("testdata", "torch", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		tensors, err := readPyTorch(bytes.NewReader(file), int64(len(file)))
		checkLoadResult(t, tensors, err)
	})
}
