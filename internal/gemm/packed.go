package gemm

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/nlpodyssey/spago/mat/float"
)

// DefaultPackedLimit is how many bytes of packed operands GemmCachedB keeps by default: the
// encoder weights of bert-base (85 M values) packed for the forward and the backward product.
const DefaultPackedLimit = 1 << 30

// GemmCachedB is Gemm for a B that stays the same across products, such as a frozen weight: it
// packs op(B) once, keeps the packing, and later products with the same B skip packing it. The
// result is the same, bit for bit, as Gemm's.
//
// The caller promises that B does not change while its packing is kept: whoever writes into B
// must call Forget(B) first (op.Values does, so every writer in this module does: Merge, Unmerge,
// the optimiser, loading in place). As a safety net against writers that forget, a packing is
// also dropped when any of sixteen values sampled across B differ from when it was packed,
// which catches wholesale changes (new values loaded, B scaled) but not every change of a few
// elements. The cache holds B weakly: a packing is dropped when its B is collected, and a new
// matrix at a collected one's address is never taken for it. The packings take at most the
// bytes set by SetPackedLimit (DefaultPackedLimit unless changed; Stats reports them); operands
// that do not fit are packed per product, as by Gemm.
//
// Built with the openblas tag, GemmCachedB is Gemm.
func GemmCachedB[T float.DType](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	product(true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Forget drops the packings GemmCachedB keeps of a matrix starting at x's first element: call it
// before writing into x.
func Forget[T float.DType](x []T) {
	if len(x) == 0 || packs.count.Load() == 0 {
		return
	}
	addr := uintptr(unsafe.Pointer(&x[0]))
	packs.mu.Lock()
	defer packs.mu.Unlock()
	for len(packs.entries[addr]) > 0 {
		packs.remove(addr, 0)
	}
}

// PackedStats describes the packings GemmCachedB keeps.
type PackedStats struct {
	Entries   int   // operands packed and kept
	Bytes     int64 // memory they take
	Limit     int64 // the most they may take (SetPackedLimit)
	Hits      int64 // products that used a kept packing
	Misses    int64 // products that packed their B (first use, forgotten, changed, too large)
	Evictions int64 // packings dropped to make room
}

// Stats returns what the cache of packed operands holds and has done.
func Stats() PackedStats {
	packs.mu.Lock()
	defer packs.mu.Unlock()
	s := packs.stats
	s.Entries, s.Limit = int(packs.count.Load()), packs.limit
	return s
}

// SetPackedLimit bounds the memory of kept packings to limit bytes (0 keeps none), drops the
// least recently used ones above it, and returns the previous limit. When the limit is reached,
// a new packing replaces only packings that went unused for a while (see idleLookups).
func SetPackedLimit(limit int64) int64 {
	packs.mu.Lock()
	defer packs.mu.Unlock()
	prev := packs.limit
	packs.limit = max(0, limit)
	packs.evict(0, false)
	return prev
}

// packKey identifies an operand op(B), at a given address, as GemmCachedB sees it.
type packKey struct {
	blocking uintptr // the *blocking[T], which also tells T
	transB   bool
	n, k     int
	ldb      int
}

// packEntry is op(B) packed for one blocking: block (jc, pc) of op(B), packed by packB, starts
// at jc·k + pc·roundUp(nc, nr) in data, nc being the block's width.
type packEntry struct {
	key      packKey
	src      any             // weak.Pointer[T] to B's first element: nil once B is collected
	cleanup  runtime.Cleanup // drops the entry when B is collected
	data     any             // []T
	sample   uint64          // fingerprint of B's sampled values when packed
	bytes    int64
	lastUsed int64
}

// packCache holds the packings of GemmCachedB, by the address of B's first element.
type packCache struct {
	mu      sync.Mutex
	entries map[uintptr][]*packEntry
	count   atomic.Int64 // entries, read without the lock by Forget
	limit   int64
	clock   int64 // counts lookups, for least-recently-used eviction of idle entries
	stats   PackedStats
}

// verifyPacked is cleared only by benchmarks measuring what the sampled check costs.
var verifyPacked = true

var packs = packCache{entries: map[uintptr][]*packEntry{}, limit: DefaultPackedLimit}

// evict drops least recently used entries until room more bytes fit under the limit, but only
// entries idle for idleLookups lookups when idleOnly is set, and reports whether they fit.
func (pc *packCache) evict(room int64, idleOnly bool) bool {
	for pc.stats.Bytes+room > pc.limit && pc.count.Load() > 0 {
		var oldestAddr uintptr
		oldest := -1
		var oldestEntry *packEntry
		for addr, es := range pc.entries {
			for i, e := range es {
				if oldestEntry == nil || e.lastUsed < oldestEntry.lastUsed {
					oldestAddr, oldest, oldestEntry = addr, i, e
				}
			}
		}
		if idleOnly && pc.clock-oldestEntry.lastUsed <= pc.idleLookups() {
			return false
		}
		pc.remove(oldestAddr, oldest)
		pc.stats.Evictions++
	}
	return pc.stats.Bytes+room <= pc.limit
}

// idleLookups is how many lookups an entry must go unused before a new packing may replace it:
// several times the entries kept. When a model's weights need more room than the limit, each is
// used once per pass, and replacing the least recently used would drop every packing just
// before its next use; instead the kept ones stay and the others are packed per product, as by
// Gemm. Packings of weights no longer used (another model's) still go idle and make room.
func (pc *packCache) idleLookups() int64 { return 4 * (pc.count.Load() + 1) }

// remove drops entry i of those at addr, its packing and its cleanup.
func (pc *packCache) remove(addr uintptr, i int) {
	es := pc.entries[addr]
	pc.stats.Bytes -= es[i].bytes
	pc.count.Add(-1)
	es[i].cleanup.Stop()
	es[i].data = nil // in case the cleanup, holding the entry, is already queued
	es = append(es[:i:i], es[i+1:]...)
	if len(es) == 0 {
		delete(pc.entries, addr)
		return
	}
	pc.entries[addr] = es
}

// packedB returns op(B) packed for bl, from the cache if kept and its sampled values still
// match B, else packed now and kept if it fits under the limit (making room from idle entries);
// nil, for the product to pack B as Gemm does, if it does not fit.
func (bl *blocking[T]) packedB(transB bool, n, k int, b []T, ldb int) []T {
	rows, cols := k, n
	if transB {
		rows, cols = n, k
	}
	span := b[:(rows-1)*ldb+cols]
	addr := uintptr(unsafe.Pointer(&b[0]))
	key := packKey{blocking: uintptr(unsafe.Pointer(bl)), transB: transB, n: n, k: k, ldb: ldb}
	size := int64(roundUp(n, bl.nr)*k) * int64(unsafe.Sizeof(b[0]))
	var sample uint64
	if verifyPacked {
		sample = sampleFingerprint(span)
	}

	packs.mu.Lock()
	packs.clock++
	for i, e := range packs.entries[addr] {
		if e.key != key {
			continue
		}
		if e.sample == sample && e.src.(weak.Pointer[T]).Value() == &b[0] {
			e.lastUsed = packs.clock
			packs.stats.Hits++
			data := e.data.([]T) // under the lock: a goroutine that replaces e clears it (remove)
			packs.mu.Unlock()
			return data
		}
		packs.remove(addr, i)
		break
	}
	packs.stats.Misses++
	keep := packs.evict(size, true)
	packs.mu.Unlock()
	if !keep {
		return nil
	}

	data := make([]T, roundUp(n, bl.nr)*k)
	kcStep, ncStep := bl.steps(n, k)
	for jc := 0; jc < n; jc += ncStep {
		nc := min(ncStep, n-jc)
		for pc := 0; pc < k; pc += kcStep {
			kc := min(kcStep, k-pc)
			bl.packB(data[jc*k+pc*roundUp(nc, bl.nr):], transB, b, ldb, pc, jc, kc, nc)
		}
	}

	packs.mu.Lock()
	defer packs.mu.Unlock()
	for i, e := range packs.entries[addr] {
		if e.key == key { // packed meanwhile by another goroutine
			packs.remove(addr, i)
			break
		}
	}
	if packs.evict(size, true) {
		e := &packEntry{key: key, src: weak.Make(&b[0]), data: data, sample: sample, bytes: size, lastUsed: packs.clock}
		packs.entries[addr] = append(packs.entries[addr], e)
		packs.stats.Bytes += size
		packs.count.Add(1)
		e.cleanup = runtime.AddCleanup(&b[0], dropEntry, e)
	}
	return data
}

// dropEntry drops e, if still kept, once its B has been collected: the packings of a model no
// longer used go with it.
func dropEntry(e *packEntry) {
	packs.mu.Lock()
	defer packs.mu.Unlock()
	for addr, es := range packs.entries {
		for i := range es {
			if es[i] == e {
				packs.remove(addr, i)
				return
			}
		}
	}
}

// samples is how many values of B sampleFingerprint reads: a change of B's values as a whole (a
// new matrix loaded in place, B scaled) changes some of them, and each read of a weight that is
// not in cache costs ~0.1 µs at every product (64 samples were ~1.4 % of a MiniLM pass at batch 1).
const samples = 16

// sampleFingerprint is the fingerprint of samples values spread evenly over xs, its last one
// included.
func sampleFingerprint[T float.DType](xs []T) uint64 {
	if len(xs) <= samples {
		return fingerprint(xs)
	}
	var picked [samples]T
	step := (len(xs) - 1) / (samples - 1)
	for i := range picked {
		picked[i] = xs[min(i*step+i%step, len(xs)-1)]
	}
	picked[samples-1] = xs[len(xs)-1]
	return fingerprint(picked[:])
}

// fingerprint hashes the bits of xs, one value at a time in four interleaved lanes, each step
// h ← (h ⊕ bits)·P with P odd: a bijection of h for given bits, so changing any one value (even
// +0 to −0) always changes the hash, and several changes leave it unchanged with probability
// about 2⁻⁶⁴. It only ever reads a few values, so it favours clarity over speed.
func fingerprint[T float.DType](xs []T) uint64 {
	const p = 0x9e3779b97f4a7c15
	var h [4]uint64
	for i, x := range xs {
		var bits uint64
		switch x := any(x).(type) {
		case float32:
			bits = uint64(math.Float32bits(x))
		case float64:
			bits = math.Float64bits(x)
		}
		h[i%4] = (h[i%4] ^ bits) * p
	}
	sum := h[0]
	for _, l := range h[1:] {
		sum = (sum ^ (l<<29 | l>>35)) * p
	}
	return sum ^ uint64(len(xs))
}

// gemmCached is gemm with op(B) packed by packedB.
func (bl *blocking[T]) gemmCached(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	bl.gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bl.packedB(transB, n, k, b, ldb))
}
