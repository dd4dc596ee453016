package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// readPickle reads one complete pickle (up to and including its STOP opcode)
// from r and returns its bytes. It walks the opcodes and checks that every
// length-prefixed argument fits in the remaining limit bytes, so that the
// unpickler, which allocates a buffer of the announced length before reading
// it, can never be driven to allocate more than the file holds.
func readPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var out bytes.Buffer
	take := func(n int64) ([]byte, error) {
		if n < 0 || n > limit-int64(out.Len()) {
			return nil, fmt.Errorf("%w: pickle argument of %d bytes exceeds the remaining data", ErrCorrupt, n)
		}
		start := out.Len()
		if _, err := io.CopyN(&out, r, n); err != nil {
			return nil, fmt.Errorf("%w: pickle truncated: %v", ErrCorrupt, err)
		}
		return out.Bytes()[start:], nil
	}
	line := func() error {
		for {
			b, err := take(1)
			if err != nil {
				return err
			}
			if b[0] == '\n' {
				return nil
			}
		}
	}
	for {
		op, err := take(1)
		if err != nil {
			return nil, err
		}
		arg, known := pickleArgs[op[0]]
		if !known {
			return nil, fmt.Errorf("%w: unknown pickle opcode 0x%02x", ErrCorrupt, op[0])
		}
		switch {
		case op[0] == '.':
			return out.Bytes(), nil
		case arg.lines > 0:
			for range arg.lines {
				if err := line(); err != nil {
					return nil, err
				}
			}
		case arg.lengthBytes > 0:
			raw, err := take(int64(arg.lengthBytes))
			if err != nil {
				return nil, err
			}
			n := pickleLength(raw)
			if arg.frame {
				// A frame only announces how many opcode bytes follow.
				if n < 0 || n > limit-int64(out.Len()) {
					return nil, fmt.Errorf("%w: pickle frame of %d bytes exceeds the remaining data", ErrCorrupt, n)
				}
				continue
			}
			if _, err := take(n); err != nil {
				return nil, err
			}
		default:
			if _, err := take(int64(arg.fixed)); err != nil {
				return nil, err
			}
		}
	}
}

// pickleLength decodes a little-endian length of 1, 4 or 8 bytes. 4-byte
// lengths are read as signed (some opcodes define them so; no torch pickle
// holds a 2 GiB string), so values past int32 or int64 come back negative
// and are rejected by the caller.
func pickleLength(raw []byte) int64 {
	switch len(raw) {
	case 1:
		return int64(raw[0])
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(raw)))
	default:
		return int64(binary.LittleEndian.Uint64(raw))
	}
}

// pickleArg describes the argument that follows an opcode.
type pickleArg struct {
	fixed       int  // bytes of a fixed-size argument
	lines       int  // newline-terminated text arguments
	lengthBytes int  // size of a length prefix; that many bytes follow
	frame       bool // the length announces a frame rather than data to skip
}

// pickleArgs covers every opcode of pickle protocols 0 to 5.
var pickleArgs = map[byte]pickleArg{
	// No argument.
	'(': {}, '.': {}, '0': {}, '1': {}, '2': {}, 'N': {}, 'Q': {}, 'R': {}, 'a': {}, 'b': {},
	'd': {}, '}': {}, 'e': {}, 'l': {}, ']': {}, 'o': {}, 's': {}, 't': {}, ')': {}, 'u': {},
	0x81: {}, 0x85: {}, 0x86: {}, 0x87: {}, 0x88: {}, 0x89: {}, 0x8f: {}, 0x90: {}, 0x91: {},
	0x92: {}, 0x93: {}, 0x94: {}, 0x97: {}, 0x98: {},
	// Text arguments.
	'F': {lines: 1}, 'I': {lines: 1}, 'L': {lines: 1}, 'P': {lines: 1}, 'S': {lines: 1},
	'V': {lines: 1}, 'g': {lines: 1}, 'p': {lines: 1}, 'i': {lines: 2}, 'c': {lines: 2},
	// Fixed-size arguments.
	'J': {fixed: 4}, 'K': {fixed: 1}, 'M': {fixed: 2}, 'G': {fixed: 8}, 'h': {fixed: 1},
	'j': {fixed: 4}, 'q': {fixed: 1}, 'r': {fixed: 4}, 0x80: {fixed: 1}, 0x82: {fixed: 1},
	0x83: {fixed: 2}, 0x84: {fixed: 4},
	// Length-prefixed arguments.
	'U': {lengthBytes: 1}, 'T': {lengthBytes: 4}, 'X': {lengthBytes: 4}, 'C': {lengthBytes: 1},
	'B': {lengthBytes: 4}, 0x8a: {lengthBytes: 1}, 0x8b: {lengthBytes: 4}, 0x8c: {lengthBytes: 1},
	0x8d: {lengthBytes: 8}, 0x8e: {lengthBytes: 8}, 0x96: {lengthBytes: 8},
	0x95: {lengthBytes: 8, frame: true},
}
