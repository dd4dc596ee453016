package hfjson

import (
	"encoding/binary"
	"fmt"
	"math"
)

// protoReader walks the fields of one protocol-buffer message: just enough of the wire format
// to read SentencePiece's ModelProto without a generated package.
type protoReader struct {
	data []byte
	err  error
}

// next returns the next field's number, wire type and, for length-delimited fields, its bytes;
// varints and fixed32 values come back in value. ok is false at the end or on an error.
func (r *protoReader) next() (field int, wire int, value uint64, payload []byte, ok bool) {
	if r.err != nil || len(r.data) == 0 {
		return 0, 0, 0, nil, false
	}
	key, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.err = fmt.Errorf("%w: spm.model: bad field key", ErrInvalid)
		return 0, 0, 0, nil, false
	}
	r.data = r.data[n:]
	field, wire = int(key>>3), int(key&7)
	switch wire {
	case 0:
		value, n = binary.Uvarint(r.data)
		if n <= 0 {
			r.err = fmt.Errorf("%w: spm.model: bad varint in field %d", ErrInvalid, field)
			return 0, 0, 0, nil, false
		}
		r.data = r.data[n:]
	case 1:
		if len(r.data) < 8 {
			r.err = fmt.Errorf("%w: spm.model: truncated field %d", ErrInvalid, field)
			return 0, 0, 0, nil, false
		}
		value, r.data = binary.LittleEndian.Uint64(r.data), r.data[8:]
	case 2:
		size, n := binary.Uvarint(r.data)
		if n <= 0 || size > uint64(len(r.data)-n) {
			r.err = fmt.Errorf("%w: spm.model: truncated field %d", ErrInvalid, field)
			return 0, 0, 0, nil, false
		}
		payload, r.data = r.data[n:n+int(size)], r.data[n+int(size):]
	case 5:
		if len(r.data) < 4 {
			r.err = fmt.Errorf("%w: spm.model: truncated field %d", ErrInvalid, field)
			return 0, 0, 0, nil, false
		}
		value, r.data = uint64(binary.LittleEndian.Uint32(r.data)), r.data[4:]
	default:
		r.err = fmt.Errorf("%w: spm.model: wire type %d in field %d", ErrInvalid, wire, field)
		return 0, 0, 0, nil, false
	}
	return field, wire, value, payload, true
}

// Piece types of SentencePiece's ModelProto.
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceByte        = 6
)

// spmModel is the part of a SentencePiece ModelProto that encoding needs.
type spmModel struct {
	pieces       []spmPiece
	modelType    int // 1 Unigram, 2 BPE, 3 word, 4 char
	unkID        int
	byteFallback bool
}

type spmPiece struct {
	piece string
	score float32
	typ   int
}

// parseSPM reads a serialized ModelProto: pieces (field 1: piece 1, score 2, type 3) and the
// trainer spec (field 2: model_type 3, byte_fallback 35, unk_id 40).
func parseSPM(data []byte) (*spmModel, error) {
	m := &spmModel{modelType: 1}
	top := protoReader{data: data}
	for {
		field, wire, _, payload, ok := top.next()
		if !ok {
			break
		}
		switch {
		case field == 1 && wire == 2:
			p := spmPiece{typ: pieceNormal}
			sub := protoReader{data: payload}
			for {
				f, w, v, b, ok := sub.next()
				if !ok {
					break
				}
				switch {
				case f == 1 && w == 2:
					p.piece = string(b)
				case f == 2 && w == 5:
					p.score = math.Float32frombits(uint32(v))
				case f == 3 && w == 0:
					p.typ = int(v)
				}
			}
			if sub.err != nil {
				return nil, sub.err
			}
			m.pieces = append(m.pieces, p)
		case field == 2 && wire == 2:
			sub := protoReader{data: payload}
			for {
				f, w, v, _, ok := sub.next()
				if !ok {
					break
				}
				switch {
				case f == 3 && w == 0:
					m.modelType = int(v)
				case f == 35 && w == 0:
					m.byteFallback = v != 0
				case f == 40 && w == 0:
					m.unkID = int(int32(v))
				}
			}
			if sub.err != nil {
				return nil, sub.err
			}
		}
	}
	if top.err != nil {
		return nil, top.err
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("%w: spm.model has no pieces", ErrInvalid)
	}
	return m, nil
}
