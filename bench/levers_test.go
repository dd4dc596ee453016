package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
)

// lever is a performance change that can be switched off within one process, so that its gain
// is measured as a ratio of alternating runs (see BenchmarkLevers) rather than from absolute
// times, which the load of a shared machine moves by more than most levers gain.
type lever struct {
	name string
	set  func(on bool) (was bool)
}

var levers = []lever{
	{"vector", op.SetVectorKernels},      // GELU, softmax and LayerNorm rows in AVX2/FMA assembly
	{"gradbuf", op.SetGradBufferReuse},   // gradient buffers from pools, not allocated per backward
	{"avx512", gemm.SetAVX512},           // gemm's 8×32 AVX-512 micro-kernel, not the 6×16 AVX2 one
	{"tall", gemm.SetTallKernel},         // products of 13 to 16 rows in 16×16 AVX-512 tiles, not 8×32 pairs
	{"copies", op.SetCopyElision},        // no ag.Copy of a layer's input when it gets no gradient
	{"phases", gemm.SetMergedPhases},     // products with B kept packed in 2 phases, not 2 per k block
	{"leave", gemm.SetHelpersLeaveEarly}, // gemm's helpers leave a product's last phase at once
	{"spin", gemm.SetLongHelperWait},     // helpers wait ~0.5 ms, not 50 µs (off by default: measure idle)
	{"split", bert.SetBatchSplit},        // a batch split among the cores in evaluation, not each product
	{"rows", bert.SetRowSplit},           // a lone sequence's rows split among the cores, not each product
	{"first", bert.SetFirstTokensOnly},   // the last layer for the first tokens only, in Logits
	{"short", op.SetShortAttention},      // attention blocks (≤ 512 keys) in AVX-512, not gemm and softmax
	{"draws", op.SetBulkDraws},           // dropout masks from bulk draws compared as integers, not Float64 each
	{"recycle", op.SetRecycling},         // outputs written into dead nodes' buffers where no gradient needs them
	{"session5", setFifthSessionLevers},  // split, rows and first together
	{"session6", setSixthSessionLevers},  // short, draws and recycle together
	{"session4", setFourthSessionLevers}, // avx512, copies, phases and leave together
	{"all", setAllLevers},                // all of the above together
}

// setFourthSessionLevers switches the fourth session's levers (avx512, copies, phases, leave) at once
// and returns whether the first was on.
func setFourthSessionLevers(on bool) (was bool) {
	was = gemm.SetAVX512(on)
	op.SetCopyElision(on)
	gemm.SetMergedPhases(on)
	gemm.SetHelpersLeaveEarly(on)
	return was
}

// setFifthSessionLevers switches the fifth session's levers (split, rows, first) at once and
// returns whether the first was on.
func setFifthSessionLevers(on bool) (was bool) {
	was = bert.SetBatchSplit(on)
	bert.SetRowSplit(on)
	bert.SetFirstTokensOnly(on)
	return was
}

// setSixthSessionLevers switches the sixth session's levers (short, draws, recycle) at once
// and returns whether the first was on.
func setSixthSessionLevers(on bool) (was bool) {
	was = op.SetShortAttention(on)
	op.SetBulkDraws(on)
	op.SetRecycling(on)
	return was
}

// setAllLevers switches every lever of op at once and returns whether the first was on.
func setAllLevers(on bool) (was bool) {
	was = op.SetVectorKernels(on)
	op.SetGradBufferReuse(on)
	setFourthSessionLevers(on)
	setFifthSessionLevers(on)
	setSixthSessionLevers(on)
	return was
}

// leverCases are the passes BenchmarkLevers times: MiniLM- and bert-base-shaped inference and
// training steps (hidden dropout on, as BenchmarkTrainStep), at batch 1 and 8.
var leverCases = []struct {
	name  string
	shape shape
	train *method // nil: inference
}{
	{"inference", shapes[1], nil},
	{"head", shapes[1], &methods[0]},
	{"hra8", shapes[1], &methods[2]},
	{"lora8", shapes[1], &methods[3]},
	{"full", shapes[1], &methods[5]},
	{"inference", shapes[2], nil},
	{"head", shapes[2], &methods[0]},
	{"hra8", shapes[2], &methods[2]},
	{"full", shapes[2], &methods[5]},
}

// BenchmarkLevers runs each case with a lever on and off alternately, one pass of each per
// iteration, the order flipping every iteration (ABBA), and reports the ratio of the summed
// times as "on/off" and of the process's CPU time as "cpu-on/off" (which other load disturbs
// less, but which counts gemm's helpers waiting for work): below 1, the lever pays. It reports
// too the memory allocated per pass, on and off.
func BenchmarkLevers(b *testing.B) {
	for _, l := range levers {
		for _, c := range leverCases {
			for _, batch := range batchSizes {
				name := "inference"
				if c.train != nil {
					name = c.train.name
				}
				b.Run(fmt.Sprintf("%s/%s/%s/batch=%d", l.name, c.shape.name, name, batch), func(b *testing.B) {
					pass := leverPass(b, c.shape, c.train, batch)
					// untimed, as leverPass's first pass on the other side: with gemm's kernel
					// switched, it packs the frozen weights anew
					prev := l.set(false)
					pass()
					l.set(prev)
					measureLever(b, l, pass)
				})
			}
		}
	}
}

// leverPass returns one inference call or training step of a model of shape s, after a first
// one: inference when m is nil, else a step of train.Fit with method m (stopped when the
// benchmark ends).
func leverPass(b *testing.B, s shape, m *method, batch int) func() {
	if m != nil {
		f := startFit(b, s, m.opts, batch, 0)
		b.Cleanup(func() { f.stop(b) })
		return func() { f.step(b) }
	}
	model, err := bert.New(randomCheckpoint(s), methods[0].opts)
	if err != nil {
		b.Fatal(err)
	}
	input := batchOf(randomExamples(batch, 9))
	pass := func() {
		logits, err := model.Logits(input)
		if err != nil {
			b.Fatal(err)
		}
		logits.Value()
	}
	pass() // packs the frozen weights (see op.Linear), which would otherwise count against one side
	return pass
}

// alternate runs a and b once each per benchmark iteration, a first in even iterations and b
// first in odd ones (ABBA, so neither always runs first), and returns the time each took in all:
// alternating runs share whatever load the machine has, so their ratio holds where times drift.
func alternate(bm *testing.B, a, b func()) (ta, tb time.Duration) {
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	for i := 0; bm.Loop(); i++ {
		if i%2 == 0 {
			ta += timed(a)
			tb += timed(b)
		} else {
			tb += timed(b)
			ta += timed(a)
		}
	}
	return ta, tb
}
