package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
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

// unpickleZip reads the zip format: <prefix>/data.pkl holds the pickled
// object and <prefix>/data/<key> the bytes of each storage.
func unpickleZip(zr *zip.Reader, size int64) (any, readStorageFunc, error) {
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, zf := range zr.File {
		records[zf.Name] = zf
		dir, base := path.Split(zf.Name)
		if base == "constants.pkl" {
			return nil, nil, fmt.Errorf("%w: TorchScript archive, not a torch.save state_dict", ErrUnsupported)
		}
		if base == "data.pkl" && strings.Count(dir, "/") == 1 {
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, nil, fmt.Errorf("%w: zip archive has no data.pkl: not a torch.save file", ErrCorrupt)
	}
	prefix, _ := path.Split(pkl.Name)
	record, err := readZipRecord(pkl, pkl.UncompressedSize64, size)
	if err != nil {
		return nil, nil, err
	}
	data, err := readPickle(bufio.NewReader(bytes.NewReader(record)), int64(len(record)))
	if err != nil {
		return nil, nil, err
	}
	storages := map[string]*torchStorage{}
	state, err := unpickle(data, func(s *torchStorage) *torchStorage {
		if prev, ok := storages[s.key]; ok {
			return prev
		}
		storages[s.key] = s
		return s
	})
	if err != nil {
		return nil, nil, err
	}
	read := func(s *torchStorage) ([]byte, error) {
		zf, ok := records[prefix+"data/"+s.key]
		if !ok {
			return nil, fmt.Errorf("%w: storage %q has no record %q in the archive", ErrCorrupt, s.key, prefix+"data/"+s.key)
		}
		return readZipRecord(zf, uint64(s.numel)*uint64(s.dtype.size), size)
	}
	return state, read, nil
}

// readZipRecord reads a whole uncompressed record, which must be exactly
// want bytes long, and verifies its CRC.
func readZipRecord(zf *zip.File, want uint64, fileSize int64) ([]byte, error) {
	if zf.Method != zip.Store {
		return nil, fmt.Errorf("%w: record %q is compressed (torch.save stores records uncompressed)", ErrUnsupported, zf.Name)
	}
	if zf.UncompressedSize64 != want || zf.CompressedSize64 != want || want > uint64(fileSize) {
		return nil, fmt.Errorf("%w: record %q holds %d bytes, want %d", ErrCorrupt, zf.Name, zf.UncompressedSize64, want)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: record %q: %v", ErrCorrupt, zf.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, want)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%w: record %q: %v", ErrCorrupt, zf.Name, err)
	}
	// Reading to EOF makes archive/zip verify the CRC-32.
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return nil, fmt.Errorf("%w: record %q: %v", ErrCorrupt, zf.Name, err)
	}
	return buf, nil
}

// legacyMagic is how the legacy torch.save format begins: pickle protocol 2
// followed by the magic number 0x1950a86a20f9469cfc6c as a LONG1.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// unpickleLegacy reads the format of torch.save before 1.6: five pickles
// (magic number, protocol version, system info, the object, the list of
// storage keys) followed, for each key in order, by an 8-byte element count
// and the storage bytes.
func unpickleLegacy(f io.ReaderAt, size int64) (any, readStorageFunc, error) {
	counter := &countingReader{r: io.NewSectionReader(f, 0, size)}
	br := bufio.NewReader(counter)
	head, err := br.Peek(len(legacyMagic))
	if err != nil || !bytes.Equal(head, legacyMagic) {
		return nil, nil, fmt.Errorf("%w: neither a zip archive nor a legacy torch.save file", ErrCorrupt)
	}
	var pickles [5][]byte
	for i := range pickles {
		if pickles[i], err = readPickle(br, size); err != nil {
			return nil, nil, err
		}
	}
	// pickles[1] is the protocol version 1001 (BININT2 0x03e9).
	if !bytes.Equal(pickles[1], []byte{0x80, 0x02, 'M', 0xe9, 0x03, '.'}) {
		return nil, nil, fmt.Errorf("%w: legacy torch.save protocol is not 1001", ErrUnsupported)
	}
	storages := map[string]*torchStorage{}
	state, err := unpickle(pickles[3], func(s *torchStorage) *torchStorage {
		if prev, ok := storages[s.key]; ok {
			return prev
		}
		storages[s.key] = s
		return s
	})
	if err != nil {
		return nil, nil, err
	}
	keys, err := unpickle(pickles[4], nil)
	if err != nil {
		return nil, nil, err
	}
	keyList, ok := keys.(*types.List)
	if !ok {
		return nil, nil, fmt.Errorf("%w: legacy storage key list is %T", ErrCorrupt, keys)
	}
	// Record where each storage's bytes start; they follow in key order.
	offsets := map[string]int64{}
	pos := counter.n - int64(br.Buffered())
	for _, k := range *keyList {
		key, _ := k.(string)
		s, ok := storages[key]
		if !ok {
			return nil, nil, fmt.Errorf("%w: legacy storage key %v is not used by any tensor", ErrCorrupt, k)
		}
		var count [8]byte
		if _, err := f.ReadAt(count[:], pos); err != nil {
			return nil, nil, fmt.Errorf("%w: legacy storage %q: %v", ErrCorrupt, key, err)
		}
		if n := pickleLength(count[:]); n != int64(s.numel) {
			return nil, nil, fmt.Errorf("%w: legacy storage %q holds %d elements, the tensors say %d", ErrCorrupt, key, n, s.numel)
		}
		nbytes := int64(s.numel) * int64(s.dtype.size)
		if nbytes > size-pos-8 {
			return nil, nil, fmt.Errorf("%w: legacy storage %q runs past the end of the file", ErrCorrupt, key)
		}
		offsets[key] = pos + 8
		pos += 8 + nbytes
	}
	read := func(s *torchStorage) ([]byte, error) {
		off, ok := offsets[s.key]
		if !ok {
			return nil, fmt.Errorf("%w: legacy storage %q is missing from the key list", ErrCorrupt, s.key)
		}
		buf := make([]byte, s.numel*s.dtype.size)
		if _, err := f.ReadAt(buf, off); err != nil {
			return nil, fmt.Errorf("%w: legacy storage %q: %v", ErrCorrupt, s.key, err)
		}
		return buf, nil
	}
	return state, read, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unpickle decodes a pickle whose storages are persistent ids; intern maps
// each storage to the shared instance for its key (nil when the pickle holds
// no tensors). data must come from readPickle, which bounds the lengths the
// unpickler allocates.
func unpickle(data []byte, intern func(*torchStorage) *torchStorage) (any, error) {
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findTorchClass
	u.PersistentLoad = func(id any) (any, error) {
		s, err := persistentStorage(id)
		if err != nil {
			return nil, err
		}
		if intern == nil {
			return nil, fmt.Errorf("%w: unexpected storage reference", ErrCorrupt)
		}
		return intern(s), nil
	}
	obj, err := u.Load()
	if err != nil {
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: pickle: %v", ErrCorrupt, err)
	}
	return obj, nil
}

// persistentStorage decodes the persistent id of a storage:
// ("storage", storage class, key, location, numel[, view metadata]).
func persistentStorage(id any) (*torchStorage, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("%w: persistent id %v is not a storage tuple", ErrCorrupt, id)
	}
	kind, _ := t.Get(0).(string)
	class, classOK := t.Get(1).(*torchStorageClass)
	key, keyOK := t.Get(2).(string)
	count, countOK := t.Get(4).(int)
	if kind != "storage" || !classOK || !keyOK || !countOK || count < 0 {
		return nil, fmt.Errorf("%w: persistent id %v is not a storage tuple", ErrCorrupt, id)
	}
	if t.Len() > 5 && t.Get(5) != nil {
		return nil, fmt.Errorf("%w: legacy storage views are not supported", ErrUnsupported)
	}
	if count > math.MaxInt64/8 {
		return nil, fmt.Errorf("%w: storage %q claims %d elements", ErrCorrupt, key, count)
	}
	return &torchStorage{key: key, dtype: class.dtype, numel: count}, nil
}

// findTorchClass resolves the globals a state_dict pickle refers to.
func findTorchClass(module, name string) (any, error) {
	switch {
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		return callable(rebuildTensor), nil
	case module == "torch._utils" && name == "_rebuild_parameter":
		return callable(rebuildParameter), nil
	case module == "torch":
		if dt, ok := torchStorageDTypes[name]; ok {
			return &torchStorageClass{dtype: dt}, nil
		}
	}
	return types.NewGenericClass(module, name), nil
}

// callable adapts a function to the unpickler's Callable interface.
type callable func(args ...any) (any, error)

func (c callable) Call(args ...any) (any, error) { return c(args...) }

// rebuildTensor mirrors torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%w: _rebuild_tensor_v2 with %d arguments", ErrCorrupt, len(args))
	}
	s, ok1 := args[0].(*torchStorage)
	offset, ok2 := args[1].(int)
	shape, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || len(shape) != len(stride) {
		return nil, fmt.Errorf("%w: _rebuild_tensor_v2 arguments %v", ErrCorrupt, args)
	}
	return &torchTensor{storage: s, offset: offset, shape: shape, stride: stride}, nil
}

// rebuildParameter mirrors torch._utils._rebuild_parameter(data, ...).
func rebuildParameter(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("%w: _rebuild_parameter without arguments", ErrCorrupt)
	}
	t, ok := args[0].(*torchTensor)
	if !ok {
		return nil, fmt.Errorf("%w: _rebuild_parameter of %T", ErrCorrupt, args[0])
	}
	return t, nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
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
