package checkpoint

import (
	"path/filepath"
	"testing"
)

// BenchmarkLoadShared compares the readers on the shared 17 MB checkpoint
// (run with -bench; MB/s is of the file read).
func BenchmarkLoadShared(b *testing.B) {
	for _, bench := range []struct {
		name string
		file string
		load func(string) (map[string]*Tensor, error)
	}{
		{"safetensors", SafetensorsFile, LoadSafetensors},
		{"pytorch", PyTorchFile, LoadPyTorch},
	} {
		b.Run(bench.name, func(b *testing.B) {
			path := filepath.Join(sharedDir, bench.file)
			tensors, err := bench.load(path)
			if err != nil {
				b.Skipf("shared checkpoint unavailable: %v", err)
			}
			var bytes int64
			for _, t := range tensors {
				bytes += int64(4 * len(t.Data))
			}
			b.SetBytes(bytes)
			for b.Loop() {
				if _, err := bench.load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
