// Package safetensors reads and writes the safetensors format of Hugging Face: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
// and the raw little-endian data.
//
// Parse checks a header as strictly as the reference implementation: every byte range lies
// inside the data section, matches shape × dtype size, and the ranges tile the data section
// without gaps or overlaps. A header that lies about offsets is thereby caught before any data
// is decoded. Tensors are decoded one at a time, so a large file is never held in memory whole.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation does (100 MB).
const MaxHeaderSize = 100 << 20

// Kind classifies an Error so that callers can map it to their own sentinel errors.
type Kind int

const (
	// Corrupt: the file is truncated or malformed (bad header length or JSON, offsets outside the
	// data section or inconsistent with the shape, overlapping tensors, duplicate names).
	Corrupt Kind = iota
	// Unsupported: a well-formed tensor whose dtype cannot be converted to floating point.
	Unsupported
)

// Error is a failure to parse or decode a safetensors file; its message names the tensor.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func corrupt(format string, args ...any) error {
	return &Error{Kind: Corrupt, Msg: fmt.Sprintf(format, args...)}
}

// Entry is one tensor of a header.
type Entry struct {
	Name string
	// DType is the safetensors spelling: "F32", "F16", "BF16", "F64", "I64", ….
	DType string
	Shape []int
	// Begin and End delimit the tensor's bytes within the data section.
	Begin, End int64
}

// Numel is the number of elements of the entry's shape (1 for a scalar).
func (e Entry) Numel() int {
	n, _ := numel(e.Shape)
	return n
}

// File is a parsed safetensors file whose header has been checked.
type File struct {
	// Entries lists the tensors in the order of the header.
	Entries []Entry
	// Metadata is the header's optional "__metadata__" map.
	Metadata  map[string]string
	r         io.ReaderAt
	dataStart int64
}

// dtypeSizes gives the element size of every dtype of the format.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Parse reads and checks the header of the safetensors file r of the given size. Entries of an
// unknown dtype are kept (their length cannot be checked against their shape); decoding them
// fails with an Unsupported error.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, corrupt("file is %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, corrupt("reading the header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize || n > uint64(size-8) {
		return nil, corrupt("header length %d exceeds the file size %d (or the %d-byte limit): truncated or not a safetensors file",
			n, size, MaxHeaderSize)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, corrupt("reading the header: %v", err)
	}
	f := &File{r: r, dataStart: 8 + int64(n)}
	if err := f.parseHeader(header); err != nil {
		return nil, err
	}
	if err := checkLayout(f.Entries, size-f.dataStart); err != nil {
		return nil, err
	}
	return f, nil
}

// parseHeader decodes the JSON header, rejecting duplicate names, which encoding/json would
// silently merge.
func (f *File) parseHeader(header []byte) error {
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return corrupt("header is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return corrupt("header JSON: %v", err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return corrupt("header lists %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&f.Metadata); err != nil {
				return corrupt("header __metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		e, err := decodeEntry(dec, name)
		if err != nil {
			return err
		}
		f.Entries = append(f.Entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return corrupt("header JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return corrupt("trailing data after the header's JSON object")
	}
	return nil
}

func decodeEntry(dec *json.Decoder, name string) (Entry, error) {
	// Through a map rather than a struct: encoding/json matches struct fields case-insensitively,
	// the format's keys are exact.
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return Entry{}, corrupt("header entry %q: %v", name, err)
	}
	var info struct {
		DType       *string
		Shape       []int
		DataOffsets []uint64
	}
	for key, dst := range map[string]any{"dtype": &info.DType, "shape": &info.Shape, "data_offsets": &info.DataOffsets} {
		if raw, ok := fields[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return Entry{}, corrupt("header entry %q: %s: %v", name, key, err)
			}
		}
	}
	if info.DType == nil || info.Shape == nil || len(info.DataOffsets) != 2 {
		return Entry{}, corrupt("header entry %q needs dtype, shape and two data_offsets", name)
	}
	begin, end := info.DataOffsets[0], info.DataOffsets[1]
	if begin > end || end > math.MaxInt64 {
		return Entry{}, corrupt("tensor %q has data_offsets [%d, %d]", name, begin, end)
	}
	e := Entry{Name: name, DType: *info.DType, Shape: info.Shape, Begin: int64(begin), End: int64(end)}
	count, ok := numel(e.Shape)
	if !ok {
		return Entry{}, corrupt("tensor %q has shape %v", name, e.Shape)
	}
	if size, known := dtypeSizes[e.DType]; known {
		if count > math.MaxInt64/size {
			return Entry{}, corrupt("tensor %q: shape %v of %s is larger than any file", name, e.Shape, e.DType)
		}
		if int64(count*size) != e.End-e.Begin {
			return Entry{}, corrupt("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d",
				name, e.Shape, e.DType, count*size, begin, end, end-begin)
		}
	}
	return e, nil
}

// checkLayout checks that the tensors tile the data section of dataLen bytes: sorted by offset,
// each starts where the previous one ended, and the last ends at the end of the file.
func checkLayout(entries []Entry, dataLen int64) error {
	byOffset := slices.Clone(entries)
	slices.SortStableFunc(byOffset, func(a, b Entry) int {
		if a.Begin != b.Begin {
			return compare(a.Begin, b.Begin)
		}
		return compare(a.End, b.End)
	})
	var pos int64
	for i, e := range byOffset {
		switch {
		case e.End > dataLen:
			return corrupt("tensor %q ends at byte %d of a %d-byte data section: file truncated or offsets wrong", e.Name, e.End, dataLen)
		case e.Begin < pos:
			return corrupt("tensors %q and %q overlap", byOffset[i-1].Name, e.Name)
		case e.Begin > pos:
			return corrupt("bytes [%d, %d) of the data section belong to no tensor (before %q)", pos, e.Begin, e.Name)
		}
		pos = e.End
	}
	if pos != dataLen {
		return corrupt("the data section has %d bytes but its tensors end at byte %d", dataLen, pos)
	}
	return nil
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// numel multiplies the dimensions, reporting false on a negative dimension or an overflow.
func numel(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		switch {
		case d < 0:
			return 0, false
		case d == 0:
			n = 0
		case n > math.MaxInt/d:
			return 0, false
		default:
			n *= d
		}
	}
	return n, true
}

// IsFloat reports whether a dtype can be decoded to floating point: F16, BF16, F32 or F64.
func IsFloat(dtype string) bool {
	switch dtype {
	case "F16", "BF16", "F32", "F64":
		return true
	}
	return false
}

// Float32 reads the values of e, a tensor of f, converted to float32 (exactly, except F64, which
// is rounded).
func (f *File) Float32(e Entry) ([]float32, error) {
	if _, known := dtypeSizes[e.DType]; !known {
		return nil, &Error{Kind: Unsupported, Msg: fmt.Sprintf("tensor %q has unknown dtype %q", e.Name, e.DType)}
	}
	if !IsFloat(e.DType) {
		return nil, &Error{Kind: Unsupported, Msg: fmt.Sprintf("tensor %q has dtype %s; only F16, BF16, F32 and F64 can be loaded", e.Name, e.DType)}
	}
	raw := make([]byte, e.End-e.Begin)
	if _, err := f.r.ReadAt(raw, f.dataStart+e.Begin); err != nil {
		return nil, corrupt("reading tensor %q: %v", e.Name, err)
	}
	dst := make([]float32, e.Numel())
	DecodeFloat32(e.DType, raw, dst)
	return dst, nil
}

// DecodeFloat32 converts len(dst) raw little-endian values of a float dtype (F16, BF16, F32 or
// F64, see IsFloat) into dst.
func DecodeFloat32(dtype string, raw []byte, dst []float32) {
	switch dtype {
	case "F16":
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
}

// HalfToFloat32 converts IEEE 754 binary16 bits exactly, signed zeros, subnormals, infinities
// and NaN payloads included.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant · 2^-24, exact in float32
		f := float32(mant) * 0x1p-24
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}
