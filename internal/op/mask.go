package op

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
)

// bulkDraws is set while dropout masks compare raw draws against an integer threshold and take
// them in bulk from a BulkSource; SetBulkDraws switches it.
var bulkDraws = true

// SetBulkDraws makes DropoutMask draw its values in bulk where the source offers it and compare
// them as integers (on), or one rand.Rand.Float64 at a time (off), and returns the previous
// setting: both give the same masks, bit for bit; the switch is for benchmarks that compare them
// within one process. Call it only while no operator runs.
func SetBulkDraws(on bool) (was bool) {
	was, bulkDraws = bulkDraws, on
	return was
}

// BulkSource is a rand.Source that hands out its next values several at a time, which saves
// a dynamic call per value and lets the source keep its state in registers.
type BulkSource interface {
	rand.Source
	// Fill sets dst to the next len(dst) values that Uint64 would return, in order.
	Fill(dst []uint64)
}

// low53 keeps the 53 bits of a draw that rand.Rand.Float64 uses.
const low53 = 1<<53 - 1

// keepThreshold returns the integer t such that, for every draw u, rand.Rand.Float64's value
// float64(u&low53)/2⁵³ is at least p exactly when u&low53 ≥ t: that value is k/2⁵³ for the
// integer k = u&low53, exactly, and p·2⁵³ is exact too (a power-of-two scaling of p in [0, 1)),
// so k/2⁵³ ≥ p ⟺ k ≥ p·2⁵³ ⟺ k ≥ ⌈p·2⁵³⌉.
func keepThreshold(p float64) uint64 {
	return uint64(math.Ceil(p * (1 << 53)))
}

// maskChunk is the number of draws DropoutMask takes from a BulkSource at a time: enough to
// amortise the call, few enough to stay in the L1 cache (4 KiB).
const maskChunk = 512

// DropoutMask returns size values, each 0 with probability p and 1/(1−p) otherwise: value i is
// kept where the i-th rand.Rand.Float64 drawn from src (a *rand.Rand or any rand.Source) is at
// least p, as Dropout draws them. It takes size values of src even when p is 0.
func DropoutMask[T float.DType](size int, p float64, src rand.Source) []T {
	mask := make([]T, size)
	fillDropoutMask(mask, p, src)
	return mask
}

// fillDropoutMask sets every value of mask as DropoutMask draws them: it may hold anything before.
func fillDropoutMask[T float.DType](mask []T, p float64, src rand.Source) {
	keep := T(1 / (1 - p))
	// choice[1] where a draw keeps its value: indexing rather than branching, as the outcome is
	// as random as the draws and a branch would be mispredicted for about a value in 1/p.
	choice := [2]T{0, keep}
	if !bulkDraws {
		rng, ok := src.(*rand.Rand)
		if !ok {
			rng = rand.New(src)
		}
		for i := range mask {
			mask[i] = 0
			if rng.Float64() >= p {
				mask[i] = keep
			}
		}
		return
	}
	t := keepThreshold(p)
	b, ok := src.(BulkSource)
	if !ok {
		for i := range mask {
			mask[i] = choice[kept(src.Uint64(), t)]
		}
		return
	}
	buf := drawBuffers.Get().(*[maskChunk]uint64)
	defer drawBuffers.Put(buf)
	for from := 0; from < len(mask); from += maskChunk {
		part := mask[from:min(from+maskChunk, len(mask))]
		draws := buf[:len(part)]
		b.Fill(draws)
		for i, u := range draws {
			part[i] = choice[kept(u, t)]
		}
	}
}

// drawBuffers holds DropoutMask's chunks of draws: one on the stack would move to the heap, as
// Fill is a dynamic call, and cost an allocation per mask.
var drawBuffers = sync.Pool{New: func() any { return new([maskChunk]uint64) }}

// kept returns 1 where draw u keeps its value under threshold t (see keepThreshold), else 0.
// u&low53 and t are below 2⁵⁴, so their difference wraps, setting the top bit, exactly when
// u&low53 < t.
func kept(u, t uint64) uint64 {
	return 1 - (u&low53-t)>>63
}
