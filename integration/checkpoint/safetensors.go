package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// LoadSafetensors reads a .safetensors file and returns its float tensors,
// converted to float32, under their canonical names (see package doc): a
// leading "bert." is stripped, LayerNorm gamma/beta become weight/bias, and
// the "cls.*" head and position_ids buffer are dropped.
//
// The file is read with internal/safetensors rather than
// github.com/nlpodyssey/safetensors so that tensors are read one at a time
// instead of holding the whole file in memory, tensors that are dropped may
// have any dtype, and a lying header is told apart (ErrCorrupt) from a valid
// dtype this package cannot convert (ErrUnsupported).
func LoadSafetensors(path string) (map[string]*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileError(path, err)
	}
	tensors, err := readSafetensors(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, nil
}

// readSafetensors decodes a safetensors file of the given size.
func readSafetensors(r io.ReaderAt, size int64) (map[string]*Tensor, error) {
	f, err := safetensors.Parse(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	set := newTensorSet()
	for _, e := range f.Entries {
		name, keep := canonicalName(e.Name)
		if !keep {
			continue
		}
		data, err := f.Float32(e)
		if err != nil {
			var se *safetensors.Error
			if errors.As(err, &se) && se.Kind == safetensors.Unsupported {
				return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
			}
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := set.add(name, e.Name, &Tensor{Shape: e.Shape, Data: data}); err != nil {
			return nil, err
		}
	}
	return set.tensors, nil
}
