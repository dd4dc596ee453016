package peft

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// LoadAdapterMetadata returns the __metadata__ map of dir/adapter_model.safetensors: "format"
// and the entries of Meta.FileMetadata it was saved with (PEFT's own files hold only "format").
// It fails with ErrCorrupt on a malformed header.
func LoadAdapterMetadata(dir string) (map[string]string, error) {
	path := filepath.Join(dir, AdapterWeightsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	parsed, err := safetensors.Parse(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, safetensorsError(err))
	}
	return parsed.Metadata, nil
}
