package hfjson

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's compiled normalisation rules (for example nmt_nfkc), as HF's
// Precompiled normalizer applies them: a double-array trie (darts-clone) of source strings whose
// values index NUL-terminated replacements.
type precompiled struct {
	trie       []uint32
	normalized []byte
}

// newPrecompiled parses a precompiled_charsmap: a little-endian uint32 byte size of the trie, the
// trie's units, then the replacement strings.
func newPrecompiled(charsmap []byte) (*precompiled, error) {
	if len(charsmap) < 4 {
		return nil, fmt.Errorf("%w: precompiled_charsmap of %d bytes", ErrInvalid, len(charsmap))
	}
	size := uint64(binary.LittleEndian.Uint32(charsmap))
	rest := charsmap[4:]
	if size%4 != 0 || size > uint64(len(rest)) || size == 0 {
		return nil, fmt.Errorf("%w: precompiled_charsmap trie of %d bytes in %d", ErrInvalid, size, len(rest))
	}
	p := &precompiled{trie: make([]uint32, size/4), normalized: rest[size:]}
	for i := range p.trie {
		p.trie[i] = binary.LittleEndian.Uint32(rest[4*i:])
	}
	return p, nil
}

// transform returns the replacement of the shortest prefix of chunk that the trie holds, as
// spm_precompiled's transform (which HF calls on whole graphemes and single characters).
func (p *precompiled) transform(chunk string) (string, bool) {
	unit := func(pos uint32) (uint32, bool) {
		if int(pos) >= len(p.trie) {
			return 0, false
		}
		return p.trie[pos], true
	}
	offset := func(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
	u, ok := unit(0)
	if !ok {
		return "", false
	}
	pos := offset(u)
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if u, ok = unit(pos); !ok || u&((1<<31)|0xFF) != uint32(c) {
			return "", false
		}
		pos ^= offset(u)
		if u>>8&1 == 1 {
			leaf, ok := unit(pos)
			if !ok {
				return "", false
			}
			start := int(leaf & (1<<31 - 1))
			if start >= len(p.normalized) {
				return "", false
			}
			end := start
			for end < len(p.normalized) && p.normalized[end] != 0 {
				end++
			}
			return string(p.normalized[start:end]), true
		}
	}
	return "", false
}

// normalize applies the rules grapheme by grapheme: a grapheme shorter than 6 bytes is replaced
// whole when it has a rule, otherwise each of its characters is replaced by its own rule or kept.
func (p *precompiled) normalize(s string) string {
	buf := make([]byte, 0, len(s))
	state := -1
	for rest := s; rest != ""; {
		var g string
		g, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if len(g) < 6 {
			if r, ok := p.transform(g); ok {
				buf = append(buf, r...)
				continue
			}
		}
		for i := 0; i < len(g); {
			_, n := utf8.DecodeRuneInString(g[i:])
			part := g[i : i+n]
			i += n
			if r, ok := p.transform(part); ok {
				buf = append(buf, r...)
			} else {
				buf = append(buf, part...)
			}
		}
	}
	return string(buf)
}
