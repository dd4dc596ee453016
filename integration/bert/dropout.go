package bert

import (
	"fmt"
	"math/rand/v2"

	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
)

// masks hands out the dropout generators of one forward pass. Each dropout site of the pass, in
// the order the forward reaches them, and each sequence get their own generator, seeded from the
// model's Seed, the site and the sequence's key: a sequence's masks depend neither on the other
// sequences of its batch nor on which goroutine calls Logits when, so a trainer that keys its
// examples by their place in the run repeats exactly whatever number of workers share a batch.
type masks struct {
	seed    uint64
	keys    []uint64 // one per sequence
	lengths []int
	site    uint64
	// first makes tokens sites drop the first token's row of each sequence only, with the mask
	// the full forward gives that row (encodeFirst's last layer).
	first bool
	// skip is, for a part of a row split (encodeRows), its first row: tokens sites skip the
	// draws of the rows before it; quiet keeps DropoutSiteHook for the part that holds row 0.
	skip  int
	quiet bool
}

// dropoutMasks returns the generators of a forward pass over b, or nil when the pass applies no
// dropout. Without b.DropoutKeys it draws a key per sequence from the model's generator, in the
// order the calls come.
func (m *Model) dropoutMasks(b Batch, lengths []int) (*masks, error) {
	if b.DropoutKeys != nil && len(b.DropoutKeys) != len(lengths) {
		return nil, fmt.Errorf("%w: %d dropout keys for %d sequences", ErrInvalidInput, len(b.DropoutKeys), len(lengths))
	}
	if !m.training || (m.dropout == 0 && m.attnDrop == 0 && !m.adaptersDrop()) {
		return nil, nil
	}
	keys := b.DropoutKeys
	if keys == nil {
		keys = make([]uint64, len(lengths))
		m.dropMu.Lock()
		if m.dropRNG == nil { // a Model not built by New
			m.dropRNG = rand.New(rand.NewPCG(m.dropSeed, 0xd209))
		}
		for s := range keys {
			keys[s] = m.dropRNG.Uint64()
		}
		m.dropMu.Unlock()
	}
	return &masks{seed: m.dropSeed, keys: keys, lengths: lengths}, nil
}

// adaptersDrop reports whether an adapter of m drops values of its own input in training.
func (m *Model) adaptersDrop() bool {
	for _, a := range m.adapters {
		if _, ok := droppingInput(a); ok {
			return true
		}
	}
	return false
}

// droppingInput returns a as a peft.InputDropout when it drops values of its input in training:
// unmerged, with a rate above 0.
func droppingInput(a peft.Adapter) (peft.InputDropout, bool) {
	d, ok := a.(peft.InputDropout)
	return d, ok && d.InputDropoutRate() > 0 && !a.Merged()
}

// tokens returns the generator of a dropout over the packed token rows, width values per token:
// with first, over each sequence's first row only; in a part of a row split, over the part's rows.
func (d *masks) tokens(width int) *sequenceSource {
	full := func(l int) int { return l * width }
	if d.first {
		return d.next("tokens", full, func(int) int { return width }, 0)
	}
	return d.next("tokens", full, full, d.skip*width)
}

// sequences returns the generator of a dropout over one row of width values per sequence.
func (d *masks) sequences(width int) *sequenceSource {
	one := func(int) int { return width }
	return d.next("sequences", one, one, 0)
}

// attention returns the generator of a dropout over the attention probabilities: heads l×l
// blocks per sequence of length l.
func (d *masks) attention(heads int) *sequenceSource {
	blocks := func(l int) int { return heads * l * l }
	return d.next("attention", blocks, blocks, 0)
}

// shared returns the generator of a dropout over values that all sequences of the pass share
// (DeBERTa's relative-position embeddings), keyed by the first sequence: it repeats for a given
// split of the batch among workers, though not across splits, as one mask per sub-batch.
func (d *masks) shared(int) *sequenceSource {
	d.site++
	// one sequence of no draws: the first draw seeds the first key's generator, which then
	// goes on, as rand.NewPCG(site, mix(keys[0])) would
	return &sequenceSource{site: mix(d.seed ^ mix(d.site)), keys: d.keys[:1], sizes: []int{0}, seq: -1}
}

// next returns the generator of the next site, of the given kind, where the full forward draws
// perSequence(l) values for each sequence of length l, sequence after sequence, one Uint64 per
// value (rand.Rand.Float64). The operator draws drawn(l) of them per sequence, the first ones of
// each, after skip draws of the first sequence: each sequence's draws start the same, whoever
// draws how many, so a part of the forward gets the very masks the full forward would.
func (d *masks) next(kind string, perSequence, drawn func(l int) int, skip int) *sequenceSource {
	d.site++
	sizes, opSizes := make([]int, len(d.lengths)), make([]int, len(d.lengths))
	for s, l := range d.lengths {
		sizes[s], opSizes[s] = perSequence(l), drawn(l)
	}
	site := mix(d.seed ^ mix(d.site))
	if hook := DropoutSiteHook; hook != nil && !d.quiet {
		twin := &sequenceSource{site: site, keys: d.keys, sizes: sizes, seq: -1}
		hook(DropoutSite{Index: int(d.site), Kind: kind, Keys: d.keys, Sizes: sizes, Rand: rand.New(twin)})
	}
	src := &sequenceSource{site: site, keys: d.keys, sizes: opSizes, seq: -1}
	src.skip(skip)
	return src
}

// DropoutSiteHook, if not nil, is called at each dropout site of every training forward pass
// (except DeBERTa's shared one), in the order the pass reaches them, from the goroutine that runs
// the pass. It lets a replay in another implementation apply the very masks this package draws
// (examples/compare --masks); set it before training starts and clear it after.
var DropoutSiteHook func(DropoutSite)

// DropoutSite describes one dropout site of a forward pass.
type DropoutSite struct {
	// Index counts the sites of the pass from 1.
	Index int
	// Kind is "tokens" (each token's hidden row, token after token), "attention" (each head's
	// l×l probabilities, head after head, query row after row) or "sequences" (one hidden row
	// per sequence). An adapter's own dropout (LoRA's lora_dropout) is a site too, of the kind of
	// its input's layout, with the adapter's input width and probability.
	Kind string
	// Keys and Sizes hold, per sequence of the pass, its dropout key and the number of values
	// the site draws for it.
	Keys  []uint64
	Sizes []int
	// Rand is a twin of the site's generator: its Float64 draws are the operator's, Sizes[0] for
	// the first sequence, then Sizes[1] for the second and so on; a value is dropped where its
	// draw is below the dropout probability.
	Rand *rand.Rand
}

// sequenceSource is a rand.Source that switches to the next sequence's generator after each
// sequence's number of draws; past the last sequence it goes on with the last generator. It is
// an op.BulkSource: the dropout operators take its values a chunk at a time (Fill).
type sequenceSource struct {
	site  uint64
	keys  []uint64
	sizes []int
	seq   int // the sequence being drawn, -1 before the first draw
	left  int // draws left in it; negative past the last sequence
	pcg   pcg // as rand.PCG, seeded with (site, mix(key))
}

// next moves to the generator of the next draw when the current sequence has none left.
func (s *sequenceSource) next() {
	for s.left == 0 && s.seq+1 < len(s.sizes) {
		s.seq++
		s.left = s.sizes[s.seq]
		s.pcg.Seed(s.site, mix(s.keys[s.seq]))
	}
}

// Uint64 returns the next draw (rand.Source).
func (s *sequenceSource) Uint64() uint64 {
	s.next()
	s.left--
	return s.pcg.Uint64()
}

// Fill sets dst to the next len(dst) draws, as many calls of Uint64 would (op.BulkSource), a
// sequence's run at a time.
func (s *sequenceSource) Fill(dst []uint64) {
	for len(dst) > 0 {
		s.next()
		n := len(dst)
		if s.left > 0 { // else past the last sequence, which goes on
			n = min(n, s.left)
		}
		s.pcg.fill(dst[:n])
		s.left -= n
		dst = dst[n:]
	}
}

// skip draws n values and discards them.
func (s *sequenceSource) skip(n int) {
	var buf [256]uint64
	for n > 0 {
		k := min(n, len(buf))
		s.Fill(buf[:k])
		n -= k
	}
}

// mix is SplitMix64's finaliser: nearby inputs (consecutive keys, sites, seeds) give unrelated
// PCG seeds.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// sequenceSource hands out its draws in bulk to the dropout operators.
var _ op.BulkSource = (*sequenceSource)(nil)
