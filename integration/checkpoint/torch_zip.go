package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

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
