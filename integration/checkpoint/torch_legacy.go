package checkpoint

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/nlpodyssey/gopickle/types"
)

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
