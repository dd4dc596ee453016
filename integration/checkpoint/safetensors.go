package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// maxSafetensorsHeader bounds the JSON header (the reference implementation
// uses the same 100 MB limit).
const maxSafetensorsHeader = 100 << 20

// safetensorsEntry is one tensor of a safetensors header.
type safetensorsEntry struct {
	name     string
	dtype    dtype
	shape    []int
	begin    int64 // offset of the first byte in the data section
	end      int64
	keepName string // canonical name, empty if the tensor is dropped
}

// LoadSafetensors reads a .safetensors file and returns its float tensors,
// converted to float32, under their canonical names (see package doc): a
// leading "bert." is stripped, LayerNorm gamma/beta become weight/bias, and
// the "cls.*" head and position_ids buffer are dropped.
//
// The file is parsed by hand rather than with github.com/nlpodyssey/safetensors
// so that tensors are read one at a time instead of holding the whole file in
// memory, tensors that are dropped may have any dtype, and a lying header is
// told apart (ErrCorrupt) from a valid dtype this package cannot convert
// (ErrUnsupported).
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
	entries, dataStart, err := readSafetensorsHeader(r, size)
	if err != nil {
		return nil, err
	}
	set := newTensorSet()
	var raw []byte
	for _, e := range entries {
		if e.keepName == "" {
			continue
		}
		if !e.dtype.float() {
			return nil, fmt.Errorf("%w: tensor %q has dtype %s; only F16, BF16, F32 and F64 can be loaded",
				ErrUnsupported, e.name, e.dtype.name)
		}
		raw = resize(raw, int(e.end-e.begin))
		if _, err := r.ReadAt(raw, dataStart+e.begin); err != nil {
			return nil, fmt.Errorf("%w: reading tensor %q: %v", ErrCorrupt, e.name, err)
		}
		t := &Tensor{Shape: e.shape, Data: make([]float32, len(raw)/e.dtype.size)}
		e.dtype.decoder(raw, t.Data)
		if err := set.add(e.keepName, e.name, t); err != nil {
			return nil, err
		}
	}
	return set.tensors, nil
}

// resize returns buf resliced (or reallocated) to length n.
func resize(buf []byte, n int) []byte {
	if cap(buf) < n {
		return make([]byte, n)
	}
	return buf[:n]
}

// readSafetensorsHeader parses and checks the header of a safetensors file
// of the given size: every tensor lies inside the data section, its byte
// length matches shape×dtype, and no two tensors overlap. It returns the
// entries and the file offset of the data section.
func readSafetensorsHeader(r io.ReaderAt, size int64) ([]safetensorsEntry, int64, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, 0, fmt.Errorf("%w: file is %d bytes, too short for the 8-byte header length", ErrCorrupt, size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, 0, fmt.Errorf("%w: reading header length: %v", ErrCorrupt, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader || n > uint64(size-8) {
		return nil, 0, fmt.Errorf("%w: header length %d exceeds the file size %d (or the %d-byte limit): truncated or not a safetensors file",
			ErrCorrupt, n, size, maxSafetensorsHeader)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, 0, fmt.Errorf("%w: reading header: %v", ErrCorrupt, err)
	}
	entries, err := parseSafetensorsHeader(header)
	if err != nil {
		return nil, 0, err
	}
	dataStart := 8 + int64(n)
	if err := checkSafetensorsLayout(entries, size-dataStart); err != nil {
		return nil, 0, err
	}
	return entries, dataStart, nil
}

// parseSafetensorsHeader decodes the JSON header, rejecting duplicate names
// (which encoding/json would silently merge).
func parseSafetensorsHeader(header []byte) ([]safetensorsEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: header is not a JSON object", ErrCorrupt)
	}
	var entries []safetensorsEntry
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: header JSON: %v", ErrCorrupt, err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, fmt.Errorf("%w: header lists tensor %q twice", ErrCorrupt, name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("%w: header __metadata__: %v", ErrCorrupt, err)
			}
			continue
		}
		e, err := decodeSafetensorsEntry(dec, name)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the header JSON object", ErrCorrupt)
	}
	return entries, nil
}

func decodeSafetensorsEntry(dec *json.Decoder, name string) (safetensorsEntry, error) {
	var info struct {
		DType       *string  `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets []uint64 `json:"data_offsets"`
	}
	if err := dec.Decode(&info); err != nil {
		return safetensorsEntry{}, fmt.Errorf("%w: header entry %q: %v", ErrCorrupt, name, err)
	}
	if info.DType == nil || info.Shape == nil || len(info.DataOffsets) != 2 {
		return safetensorsEntry{}, fmt.Errorf("%w: header entry %q needs dtype, shape and two data_offsets", ErrCorrupt, name)
	}
	e := safetensorsEntry{name: name, shape: info.Shape}
	e.keepName, _ = canonicalName(name)
	dt, known := safetensorsDTypes[*info.DType]
	if !known && e.keepName != "" {
		return safetensorsEntry{}, fmt.Errorf("%w: tensor %q has unknown dtype %q", ErrUnsupported, name, *info.DType)
	}
	e.dtype = dt
	begin, end := info.DataOffsets[0], info.DataOffsets[1]
	if begin > end || end > math.MaxInt64 {
		return safetensorsEntry{}, fmt.Errorf("%w: tensor %q has data_offsets [%d, %d]", ErrCorrupt, name, begin, end)
	}
	e.begin, e.end = int64(begin), int64(end)
	if known {
		count, ok := numel(e.shape, math.MaxInt64/dt.size)
		if !ok || int64(count*dt.size) != e.end-e.begin {
			return safetensorsEntry{}, fmt.Errorf("%w: tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d",
				ErrCorrupt, name, e.shape, dt.name, count*dt.size, begin, end, end-begin)
		}
	}
	return e, nil
}

// checkSafetensorsLayout checks that tensors fit in dataLen bytes without
// overlapping.
func checkSafetensorsLayout(entries []safetensorsEntry, dataLen int64) error {
	byOffset := make([]*safetensorsEntry, len(entries))
	for i := range entries {
		byOffset[i] = &entries[i]
	}
	sort.Slice(byOffset, func(i, j int) bool {
		a, b := byOffset[i], byOffset[j]
		return a.begin < b.begin || (a.begin == b.begin && a.end < b.end)
	})
	for i, e := range byOffset {
		if e.end > dataLen {
			return fmt.Errorf("%w: tensor %q ends at byte %d of a %d-byte data section: file truncated",
				ErrCorrupt, e.name, e.end, dataLen)
		}
		if i > 0 && e.begin < byOffset[i-1].end {
			return fmt.Errorf("%w: tensors %q and %q overlap", ErrCorrupt, byOffset[i-1].name, e.name)
		}
	}
	return nil
}
