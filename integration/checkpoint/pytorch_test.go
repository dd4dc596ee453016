package checkpoint

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadPyTorchMatchesSafetensors(t *testing.T) {
	want, err := LoadSafetensors(filepath.Join(tinyDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadPyTorch(filepath.Join(tinyDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, want, got)
}

// TestLoadPyTorchDTypes reads state_dicts with float16, bfloat16 and float64
// storages, a transposed view, two views at offsets into one shared storage
// and an int64 buffer that is dropped, in both torch.save formats.
func TestLoadPyTorchDTypes(t *testing.T) {
	want := map[string]*Tensor{
		"half":       {Shape: []int{2, 3}, Data: []float32{0, 0.25, 0.5, 0.75, 1, 1.25}},
		"bfloat16":   {Shape: []int{6}, Data: []float32{-0.25, -0.125, 0, 0.125, 0.25, 0.375}},
		"double":     {Shape: []int{4}, Data: []float32{0, 0.5, 1, 1.5}},
		"transposed": {Shape: []int{3, 2}, Data: []float32{0, 3, 1, 4, 2, 5}},
		"view":       {Shape: []int{4}, Data: []float32{2, 3, 4, 5}},
		"shared":     {Shape: []int{4}, Data: []float32{5, 6, 7, 8}},
	}
	for _, file := range []string{"dtypes.bin", "dtypes-legacy.bin"} {
		t.Run(file, func(t *testing.T) {
			got, err := LoadPyTorch(filepath.Join("testdata", "torch", file))
			if err != nil {
				t.Fatal(err)
			}
			requireSameTensors(t, want, got)
		})
	}
}

func TestLoadPyTorchErrors(t *testing.T) {
	tiny, err := os.ReadFile(filepath.Join(tinyDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile(filepath.Join("testdata", "torch", "dtypes-legacy.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		file     []byte
		sentinel error
		mentions string
	}{
		{"empty", nil, ErrCorrupt, "neither a zip"},
		{"not torch", []byte("hello, world"), ErrCorrupt, "neither a zip"},
		{"truncated zip", tiny[:len(tiny)/2], ErrCorrupt, ""},
		{"flipped storage byte", flipStorageByte(t, tiny), ErrCorrupt, "checksum"},
		{"zip without data.pkl", zipWith(t, map[string][]byte{"a/other.txt": []byte("x")}), ErrCorrupt, "data.pkl"},
		{"torchscript", zipWith(t, map[string][]byte{"a/data.pkl": []byte("."), "a/constants.pkl": []byte(".")}), ErrUnsupported, "TorchScript"},
		{"garbage pickle", zipWith(t, map[string][]byte{"a/data.pkl": []byte("\xff\xff")}), ErrCorrupt, "opcode"},
		{"lying pickle length", zipWith(t, map[string][]byte{"a/data.pkl": []byte("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\x00\x00.")}), ErrCorrupt, "exceeds"},
		{"not a state_dict", zipWith(t, map[string][]byte{"a/data.pkl": []byte("\x80\x02K\x07.")}), ErrUnsupported, "not a state_dict"},
		{"truncated legacy", legacy[:len(legacy)-10], ErrCorrupt, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadPyTorch(writeTemp(t, "model.bin", tt.file))
			requireError(t, err, tt.sentinel, tt.mentions, "model.bin")
		})
	}
	t.Run("integer weight", func(t *testing.T) {
		_, err := LoadPyTorch(filepath.Join("testdata", "torch", "int-tensor.bin"))
		requireError(t, err, ErrUnsupported, `"weight"`, "int64")
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadPyTorch(filepath.Join(t.TempDir(), PyTorchFile))
		requireError(t, err, ErrNotFound, PyTorchFile)
	})
}

// flipStorageByte returns a copy of a torch zip with one byte of its largest
// storage record changed.
func flipStorageByte(t *testing.T, file []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var largest *zip.File
	for _, f := range zr.File {
		if largest == nil || f.UncompressedSize64 > largest.UncompressedSize64 {
			largest = f
		}
	}
	offset, err := largest.DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(file)
	out[offset+10] ^= 0x40
	return out
}

// zipWith builds an uncompressed zip archive, as torch.save writes them.
func zipWith(t *testing.T, records map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(records) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(records[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
