package checkpoint

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/nlpodyssey/gopickle/types"
)

// torchStorage is a storage referenced by a pickled tensor. Its bytes stay in
// the file until a tensor that is kept needs them.
type torchStorage struct {
	key   string
	dtype dtype
	numel int
}

// torchTensor is a pickled tensor: a strided view of a storage.
type torchTensor struct {
	storage *torchStorage
	offset  int
	shape   []int
	stride  []int
}

// torchStorageClass is what the unpickler finds for torch.FloatStorage etc.
type torchStorageClass struct{ dtype dtype }

// torchStorageDTypes maps the pickled storage class names to dtypes; only
// the float ones can be loaded, integer ones appear in dropped buffers.
var torchStorageDTypes = map[string]dtype{
	"FloatStorage": dtypeF32, "HalfStorage": dtypeF16, "BFloat16Storage": dtypeBF16, "DoubleStorage": dtypeF64,
	"LongStorage": {name: "int64", size: 8}, "IntStorage": {name: "int32", size: 4},
	"ShortStorage": {name: "int16", size: 2}, "CharStorage": {name: "int8", size: 1},
	"ByteStorage": {name: "uint8", size: 1}, "BoolStorage": {name: "bool", size: 1},
}

// readStorageFunc returns the raw little-endian bytes of a storage.
type readStorageFunc func(s *torchStorage) ([]byte, error)

// LoadPyTorch reads a pytorch_model.bin written by torch.save (the zip format
// of torch >= 1.6, or the legacy format before it) holding a state_dict, and
// returns its float tensors converted to float32 under their canonical
// names, as LoadSafetensors does. It reads the file into memory without
// writing anything next to it.
func LoadPyTorch(path string) (map[string]*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileError(path, err)
	}
	tensors, err := readPyTorch(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, nil
}

// readPyTorch decodes a torch.save file of the given size. The unpickler may
// panic on malformed input; that is reported as ErrCorrupt.
func readPyTorch(r io.ReaderAt, size int64) (tensors map[string]*Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			tensors, err = nil, fmt.Errorf("%w: unreadable pickle: %v", ErrCorrupt, p)
		}
	}()
	var (
		state any
		read  readStorageFunc
	)
	if zr, zerr := zip.NewReader(r, size); zerr == nil {
		state, read, err = unpickleZip(zr, size)
	} else {
		state, read, err = unpickleLegacy(r, size)
	}
	if err != nil {
		return nil, err
	}
	return stateDictTensors(state, read)
}

// stateDictTensors converts the tensors of an unpickled state_dict, reading
// each storage once.
func stateDictTensors(state any, read readStorageFunc) (map[string]*Tensor, error) {
	type item struct {
		stored, canonical string
		t                 *torchTensor
	}
	var items []item
	add := func(k, v any) error {
		stored, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: state_dict key %v is not a string", ErrUnsupported, k)
		}
		t, ok := v.(*torchTensor)
		if !ok {
			return fmt.Errorf("%w: state_dict entry %q is %T, not a tensor", ErrUnsupported, stored, v)
		}
		if canonical, keep := canonicalName(stored); keep {
			items = append(items, item{stored, canonical, t})
		}
		return nil
	}
	switch d := state.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, err
			}
		}
	case *types.Dict:
		for _, entry := range *d {
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%w: the pickled object is %T, not a state_dict", ErrUnsupported, state)
	}
	// Group by storage so that each one is read and converted once.
	sort.SliceStable(items, func(i, j int) bool { return items[i].t.storage.key < items[j].t.storage.key })
	set := newTensorSet()
	var (
		current *torchStorage
		values  []float32
	)
	for _, it := range items {
		s := it.t.storage
		if !s.dtype.float() {
			return nil, fmt.Errorf("%w: tensor %q has dtype %s; only float16, bfloat16, float32 and float64 can be loaded",
				ErrUnsupported, it.stored, s.dtype.name)
		}
		if s != current {
			raw, err := read(s)
			if err != nil {
				return nil, err
			}
			current, values = s, make([]float32, s.numel)
			s.dtype.decoder(raw, values)
		}
		data, err := gather(values, it.t.offset, it.t.shape, it.t.stride)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", it.stored, err)
		}
		if err := set.add(it.canonical, it.stored, &Tensor{Shape: it.t.shape, Data: data}); err != nil {
			return nil, err
		}
	}
	return set.tensors, nil
}

// gather copies the strided view (offset, shape, stride) of storage into a
// new row-major slice, checking that the view lies inside the storage.
func gather(storage []float32, offset int, shape, stride []int) ([]float32, error) {
	n, ok := numel(shape, len(storage))
	if !ok || offset < 0 {
		return nil, fmt.Errorf("%w: view of shape %v at offset %d does not fit a storage of %d elements",
			ErrCorrupt, shape, offset, len(storage))
	}
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	last := offset // index of the view's last element
	contiguous, expect := true, 1
	for i := len(shape) - 1; i >= 0; i-- {
		if stride[i] < 0 || (shape[i] > 1 && stride[i] > len(storage)) {
			return nil, fmt.Errorf("%w: stride %v for shape %v", ErrCorrupt, stride, shape)
		}
		last += (shape[i] - 1) * stride[i]
		if shape[i] > 1 && stride[i] != expect {
			contiguous = false
		}
		expect *= shape[i]
	}
	if last >= len(storage) {
		return nil, fmt.Errorf("%w: view of shape %v, stride %v at offset %d exceeds a storage of %d elements",
			ErrCorrupt, shape, stride, offset, len(storage))
	}
	if contiguous {
		copy(out, storage[offset:offset+n])
		return out, nil
	}
	index := make([]int, len(shape))
	for i := range out {
		pos := offset
		for d, k := range index {
			pos += k * stride[d]
		}
		out[i] = storage[pos]
		for d := len(index) - 1; d >= 0; d-- {
			if index[d]++; index[d] < shape[d] {
				break
			}
			index[d] = 0
		}
	}
	return out, nil
}
