package adaptertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// ZeroColumn sets column col of every 2-D F32 tensor whose key ends in suffix to zero, in place
// in the safetensors file at path: an adapter file that parses but holds an unusable value (an
// all-zero HRA reflection vector), as a hostile or damaged file might.
func ZeroColumn(path, suffix string, col int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := safetensors.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	dataStart := 8 + int64(binary.LittleEndian.Uint64(b))
	found := false
	for _, e := range f.Entries {
		if !strings.HasSuffix(e.Name, suffix) || e.DType != "F32" || len(e.Shape) != 2 || col >= e.Shape[1] {
			continue
		}
		found = true
		for r := range e.Shape[0] {
			off := dataStart + e.Begin + int64(4*(r*e.Shape[1]+col))
			clear(b[off : off+4])
		}
	}
	if !found {
		return fmt.Errorf("adaptertest: %s has no 2-D F32 tensor ending in %s with a column %d", path, suffix, col)
	}
	return os.WriteFile(path, b, 0o644)
}
