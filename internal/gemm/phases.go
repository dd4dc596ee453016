package gemm

// maxMergedBlock bounds the values of op(A) over all of k that runPrepacked packs and each of
// its units reads: 512 KiB of float32, half of a Zen 4 core's L2. Only products of one mc
// block of rows (m ≤ 144: batch 1 to 4 of 32 tokens) within that bound merge their phases:
// they are the short ones, where a barrier per k block costs most. For larger m, merging
// measured no better or worse (bench/LEVERS.md): the units grow, and with several mc blocks
// over all of k, each unit's A block no longer stays in L2 for all its column ranges.
const maxMergedBlock = 1 << 17

// mergedPhases selects runPrepacked for products whose op(B) is packed whole; SetMergedPhases
// switches it.
var mergedPhases = true

// SetMergedPhases makes products with a kept packing of op(B) (GemmCachedB) run in two phases
// per slab of rows of op(A), packing its k blocks together then multiplying each C tile over
// all of them (on), or in two phases per k block (off), and returns the previous setting: the
// same bits either way, for benchmarks that compare both within one process. Call it only
// while no product runs.
func SetMergedPhases(on bool) (was bool) {
	was, mergedPhases = mergedPhases, on
	return was
}

// runPrepacked is run for a job whose op(B) is packed whole (j.packedB). With B packed there is
// no B block to share between the goroutines, so nothing ties them to one k block at a time:
// for each slab of rows of op(A), one phase packs all its k blocks, and one multiplies, each
// unit a range of C's columns over all the k blocks in turn. A product of a BERT layer then
// has two phase barriers instead of two per k block (FFN's second product: two instead of
// twelve), each a point where a goroutine that finished its units waits for the others. Each
// element of C still sums the k blocks in order, so the bits are those of run.
func (j *job[T]) runPrepacked(helper bool) {
	bl := j.bl
	mr, nr := bl.mr, bl.nr
	edge := make([]T, mr*nr)
	kBlocks := ceilDiv(j.k, j.kcStep)
	ph := 0
	for is := 0; is < j.m; is += j.slabRows {
		rows := min(j.slabRows, j.m-is)
		padded := roundUp(rows, mr) // the k block at pc starts at pc·padded in j.buf.a
		panelUnits := ceilDiv(ceilDiv(rows, mr), packUnitPanels)
		j.work(ph, kBlocks*panelUnits, helper, func(u int) {
			pc := (u / panelUnits) * j.kcStep
			kc := min(j.kcStep, j.k-pc)
			first := (u % panelUnits) * packUnitPanels * mr
			bl.packA(j.buf.a[pc*padded+first*kc:], j.transA, j.a, j.lda, is+first, pc, min(packUnitPanels*mr, rows-first), kc)
		})
		ph++

		mcBlocks := ceilDiv(rows, j.mcStep)
		type span struct{ jc, nc, from, to int } // columns [from, to) of the block at jc, nc wide
		spans := make([]span, 0, ceilDiv(j.n, nr))
		for jc := 0; jc < j.n; jc += j.ncStep {
			nc := min(j.ncStep, j.n-jc)
			bPanels := ceilDiv(nc, nr)
			unitPanels := clamp(ceilDiv(mcBlocks*bPanels, unitsPerWorker*j.workers), 1, maxUnitPanels)
			for from := 0; from < nc; from += unitPanels * nr {
				spans = append(spans, span{jc, nc, from, min(from+unitPanels*nr, nc)})
			}
		}
		j.work(ph, mcBlocks*len(spans), helper, func(u int) {
			ic := (u / len(spans)) * j.mcStep
			s := spans[u%len(spans)]
			mc := min(j.mcStep, rows-ic)
			for pc := 0; pc < j.k; pc += j.kcStep {
				kc := min(j.kcStep, j.k-pc)
				beta := j.beta
				if pc > 0 {
					beta = 1
				}
				// j.buf is read only inside claimed units: a late helper may run this loop
				// after the caller has returned the buffers to the pool.
				bp := j.packedB[s.jc*j.k+pc*roundUp(s.nc, nr):]
				bl.macroKernel(mc, s.nc, s.from, s.to, kc, j.alpha, j.buf.a[pc*padded+ic*kc:], bp, beta, j.c[(is+ic)*j.ldc+s.jc:], j.ldc, edge)
			}
		})
		ph++
	}
}
