// Package gobstate encodes the state of an adapter for its GobEncode and GobDecode methods: the
// adapters store a struct of exported fields through a nested gob stream, and the state of their
// random generators as bytes.
package gobstate

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
)

// Encode returns v, a struct of exported fields, as a gob stream.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

// Decode reads a gob stream written by Encode into v, prefixing an error with method.
func Decode(data []byte, v any, method string) error {
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return fmt.Errorf("%s: decoding an adapter: %w", method, err)
	}
	return nil
}

// PCG returns the state of src, or nil for a nil src.
func PCG(src *rand.PCG) []byte {
	if src == nil {
		return nil
	}
	b, _ := src.MarshalBinary() // a PCG always marshals
	return b
}

// NewPCG returns the generator whose state PCG returned; nil state gives a PCG seeded with 0, 0.
func NewPCG(state []byte) (*rand.PCG, error) {
	src := rand.NewPCG(0, 0)
	if state == nil {
		return src, nil
	}
	if err := src.UnmarshalBinary(state); err != nil {
		return nil, err
	}
	return src, nil
}
