package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Tensor is a float32 tensor to write, row-major.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Write writes tensors as F32 in name order, after a header with metadata under "__metadata__"
// (omitted when empty), padded with spaces to a multiple of 8 bytes as the reference writer does.
// The output depends only on its inputs. It fails, before writing anything, on an empty,
// duplicate or reserved name, or on data whose length does not match the shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	header, err := encodeHeader(sorted, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	bw.Write(lenBuf[:])
	bw.Write(header)
	var buf [4]byte
	for _, t := range sorted {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			bw.Write(buf[:])
		}
	}
	return bw.Flush() // bufio keeps the first write error and returns it here
}

// encodeHeader returns the JSON header of sorted tensors, with keys in a fixed order.
func encodeHeader(sorted []Tensor, metadata map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	if len(metadata) > 0 {
		meta, err := json.Marshal(metadata) // encoding/json sorts map keys
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, `"__metadata__":%s`, meta)
	}
	var offset int64
	for i, t := range sorted {
		switch {
		case t.Name == "" || t.Name == "__metadata__":
			return nil, fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("safetensors: tensor %q given twice", t.Name)
		}
		if n, ok := numel(t.Shape); !ok || n != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q has shape %v but %d values", t.Name, t.Shape, len(t.Data))
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape, _ := json.Marshal(append([]int{}, t.Shape...)) // [] rather than null for a scalar
		end := offset + 4*int64(len(t.Data))
		fmt.Fprintf(&b, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String()), nil
}
