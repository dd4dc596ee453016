package gemm

import (
	"runtime"
	"sync/atomic"

	"github.com/nlpodyssey/spago/mat/float"
)

const (
	// minParallelWork is the number of multiply-adds below which a product stays on the
	// calling goroutine: under it, waking another goroutine costs more than it would save.
	minParallelWork = 1 << 16
	// maxSlabBlocks bounds the rows of op(A) packed at once to this many mc blocks.
	maxSlabBlocks = 16
	// packUnitPanels is how many panels one packing work unit copies.
	packUnitPanels = 8
	// maxUnitPanels bounds the B panels of one multiplication work unit.
	maxUnitPanels = 8
	// unitsPerWorker is how many multiplication work units each goroutine should get, so that
	// a goroutine that starts late, or is descheduled, leaves little for the others to wait on.
	unitsPerWorker = 4
	// spinsBeforeBlocking is how many times a goroutine yields, waiting for the other
	// goroutines to finish a phase, before it blocks: some 15 µs (Gosched takes ~150 ns).
	spinsBeforeBlocking = 100
)

// packBuffers holds the packed operands of one product: a slab of op(A) (up to maxSlabBlocks
// mc×kc blocks) and one kc×nc block of op(B).
type packBuffers[T float.DType] struct {
	a, b []T
}

// job is one product C ← alpha·op(A)·op(B) + beta·C, for k ≥ 1, shared by the goroutines
// working on it. It runs as a sequence of phases, each a set of work units that the goroutines
// claim one by one; a phase ends when all its units are done. For each kc×nc block of op(B)
// and each slab of rows of op(A), a packing phase copies the slab (and, for the first slab,
// the B block) and a multiplication phase runs the macro-kernel on (mc block, B panels) units.
//
// A helper goroutine that starts late finds the finished phases' units all claimed and joins
// the current phase, so the calling goroutine never waits for a helper to start, only for the
// units a helper has claimed. Helpers touch the job's buffers only through claimed units, so
// the buffers can be reused as soon as the caller returns.
type job[T float.DType] struct {
	bl             *blocking[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int

	workers                int
	mcStep, kcStep, ncStep int // block sizes, evened out over m, k and n
	slabRows               int // rows of op(A) packed per slab, a multiple of mcStep
	buf                    *packBuffers[T]
	packedB                []T  // op(B) packed whole (see packEntry), or nil to pack it per block
	merged                 bool // phases merged: run by runPrepacked (see SetMergedPhases)
	phases                 []phase
}

// phase counts the work units of one phase that were claimed and that are done; finished is
// closed by the goroutine that completes the last unit.
type phase struct {
	claimed, done atomic.Int64
	finished      chan struct{}
	_             [40]byte // keeps the counters of consecutive phases on separate cache lines
}

// gemm computes C ← alpha·op(A)·op(B) + beta·C for k ≥ 1, on Workers goroutines when the
// product is large enough.
func (bl *blocking[T]) gemm(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	bl.gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// gemmPacked is gemm, given op(B) packed whole by packedB, or nil to pack it as it goes.
func (bl *blocking[T]) gemmPacked(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, packedB []T) {
	j := &job[T]{
		bl: bl, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, workers: 1, packedB: packedB,
	}
	if m*n*k >= minParallelWork {
		j.workers = Workers()
	}
	j.kcStep, j.ncStep = bl.steps(n, k)
	j.mcStep = roundUp(ceilDiv(m, ceilDiv(m, bl.mc)), bl.mr)
	j.slabRows = j.mcStep * min(ceilDiv(m, j.mcStep), maxSlabBlocks)
	j.phases = make([]phase, 2*ceilDiv(n, j.ncStep)*ceilDiv(k, j.kcStep)*ceilDiv(m, j.slabRows))
	aSize := roundUp(j.slabRows, bl.mr) * j.kcStep
	merged := packedB != nil && mergedPhases && m <= j.mcStep && j.mcStep*k <= maxMergedBlock
	if merged {
		j.phases = j.phases[:2*ceilDiv(m, j.slabRows)]
		aSize = roundUp(j.slabRows, bl.mr) * k // every k block of a slab (runPrepacked)
	}
	if j.workers > 1 {
		for i := range j.phases {
			j.phases[i].finished = make(chan struct{})
		}
	}

	j.buf, _ = bl.buffers.Get().(*packBuffers[T])
	if j.buf == nil {
		j.buf = new(packBuffers[T])
	}
	j.buf.a = grow(j.buf.a, aSize)
	if packedB == nil {
		j.buf.b = grow(j.buf.b, j.kcStep*min(j.ncStep, roundUp(n, bl.nr)))
	}
	defer bl.buffers.Put(j.buf)

	j.merged = merged
	for range j.workers - 1 {
		startHelper(j.runHelper)
	}
	j.runPhases(false)
}

// runPhases runs the job's phases as run, or runPrepacked when they are merged.
func (j *job[T]) runPhases(helper bool) {
	if j.merged {
		j.runPrepacked(helper)
		return
	}
	j.run(helper)
}

// runHelper is runPhases for a helper goroutine.
func (j *job[T]) runHelper() { j.runPhases(true) }

// steps returns the sizes of the k and n blocks of a product, evened out over k and n: with
// k = 384 and kc = 256, two blocks of 192 waste less than 256+128.
func (bl *blocking[T]) steps(n, k int) (kcStep, ncStep int) {
	return ceilDiv(k, ceilDiv(k, bl.kc)), roundUp(ceilDiv(n, ceilDiv(n, bl.nc)), bl.nr)
}

// grow returns x if it holds n elements, else a new slice that does.
func grow[T float.DType](x []T, n int) []T {
	if len(x) >= n {
		return x
	}
	return make([]T, n)
}

// run works on the job's phases in order until the last one is done, or for a helper until
// none of its units is left (see work).
func (j *job[T]) run(helper bool) {
	bl := j.bl
	mr, nr := bl.mr, bl.nr
	edge := make([]T, mr*nr)
	ph := 0
	for jc := 0; jc < j.n; jc += j.ncStep {
		nc := min(j.ncStep, j.n-jc)
		bPanels := ceilDiv(nc, nr)
		for pc := 0; pc < j.k; pc += j.kcStep {
			kc := min(j.kcStep, j.k-pc)
			// Later k blocks accumulate onto what the first one wrote.
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			for is := 0; is < j.m; is += j.slabRows {
				rows := min(j.slabRows, j.m-is)
				aUnits := ceilDiv(ceilDiv(rows, mr), packUnitPanels)
				bUnits := 0
				if j.packedB == nil && is == 0 {
					bUnits = ceilDiv(bPanels, packUnitPanels)
				}
				j.work(ph, aUnits+bUnits, helper, func(u int) {
					if u < aUnits {
						first := u * packUnitPanels * mr
						bl.packA(j.buf.a[first*kc:], j.transA, j.a, j.lda, is+first, pc, min(packUnitPanels*mr, rows-first), kc)
						return
					}
					first := (u - aUnits) * packUnitPanels * nr
					bl.packB(j.buf.b[first*kc:], j.transB, j.b, j.ldb, pc, jc+first, kc, min(packUnitPanels*nr, nc-first))
				})
				ph++

				mcBlocks := ceilDiv(rows, j.mcStep)
				unitPanels := clamp(ceilDiv(mcBlocks*bPanels, unitsPerWorker*j.workers), 1, maxUnitPanels)
				unitPanels = min(unitPanels, bPanels)
				groups := ceilDiv(bPanels, unitPanels)
				j.work(ph, mcBlocks*groups, helper, func(u int) {
					ic := (u / groups) * j.mcStep
					jrFrom := (u % groups) * unitPanels * nr
					jrTo := min(jrFrom+unitPanels*nr, nc)
					mc := min(j.mcStep, rows-ic)
					// j.buf is read only inside claimed units: a late helper may run this loop
					// after the caller has returned the buffers to the pool.
					bp := j.buf.b
					if j.packedB != nil {
						bp = j.packedB[jc*j.k+pc*bPanels*nr:]
					}
					bl.macroKernel(mc, nc, jrFrom, jrTo, kc, j.alpha, j.buf.a[ic*kc:], bp, beta, j.c[(is+ic)*j.ldc+jc:], j.ldc, edge)
				})
				ph++
			}
		}
	}
}

// work claims and does units of phase ph until none is left, then waits until the units
// claimed by other goroutines are done too: first by yielding, since the last unit is usually
// a few microseconds from done, then, if its goroutine has lost its CPU, by blocking. A helper
// does not wait at the last phase (with helpersLeaveEarly): it has nothing left to do for the
// job, and goes back to waiting for the next product (or to the goroutines op.Parallel starts)
// at once, rather than after the caller's last unit, possibly by way of a blocked receive.
func (j *job[T]) work(ph, units int, helper bool, do func(unit int)) {
	p := &j.phases[ph]
	for {
		u := int(p.claimed.Add(1)) - 1
		if u >= units {
			break
		}
		do(u)
		if p.done.Add(1) == int64(units) && p.finished != nil {
			close(p.finished)
		}
	}
	if helper && helpersLeaveEarly.Load() && ph == len(j.phases)-1 {
		return
	}
	for range spinsBeforeBlocking {
		if p.done.Load() == int64(units) {
			return
		}
		runtime.Gosched()
	}
	<-p.finished
}

func clamp(x, lo, hi int) int { return max(lo, min(x, hi)) }
