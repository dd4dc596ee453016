package bench

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// trainLevers are the levers of OFT's and full fine-tuning's training steps (issue 15, second
// part), measured as BenchmarkLevers measures op's.
var trainLevers = []lever{
	{"cayley", oft.SetCayleyKernels},      // OFT's Cayley map by block kernels, not LU and gemm
	{"rotcache", oft.SetRotationCache},    // OFT's block matrices built once while R is unchanged
	{"keepgrads", train.SetKeepGradients}, // gradient buffers kept across steps, reset to −0 in place
	{"oft", setOFTLevers},                 // cayley and rotcache together
}

// setOFTLevers switches both OFT levers and returns whether the first was on.
func setOFTLevers(on bool) (was bool) {
	was = oft.SetCayleyKernels(on)
	oft.SetRotationCache(on)
	return was
}

// settles names the levers whose state carries into the next pass (keepgrads: a pass after one
// with the lever off finds no buffers to keep): measureLever runs an untimed pass in the lever's
// state before each timed one.
var settles = map[string]bool{"keepgrads": true}

// trainLeverCases are the training steps BenchmarkTrainLevers times.
var trainLeverCases = []struct {
	shape shape
	train *method
}{
	{shapes[1], &methods[4]}, // MiniLM OFT, blocks of 32
	{shapes[2], &methods[4]}, // bert-base OFT
	{shapes[1], &methods[5]}, // MiniLM full fine-tuning
	{shapes[2], &methods[5]}, // bert-base full fine-tuning
}

// BenchmarkTrainLevers runs each training step with a lever on and off alternately (ABBA, as
// BenchmarkLevers) and reports the ratios of wall and CPU time and the memory allocated per step
// on each side.
func BenchmarkTrainLevers(b *testing.B) {
	for _, l := range trainLevers {
		for _, c := range trainLeverCases {
			for _, batch := range batchSizes {
				b.Run(fmt.Sprintf("%s/%s/%s/batch=%d", l.name, c.shape.name, c.train.name, batch), func(b *testing.B) {
					measureLever(b, l, leverPass(b, c.shape, c.train, batch))
				})
			}
		}
	}
}

// measureLever runs pass with lever l on and off alternately, one of each per iteration in
// alternating order (ABBA, see alternate), and reports the ratio of the summed times as "on/off"
// and of the process's CPU time as "cpu-on/off" (which other load disturbs less, but which
// counts gemm's helpers waiting for work), and the memory allocated per pass on each side.
func measureLever(b *testing.B, l lever, pass func()) {
	defer l.set(l.set(true))
	var cpuOn, cpuOff time.Duration
	var allocOn, allocOff uint64
	run := func(on bool, cpu *time.Duration, alloc *uint64) func() {
		return func() {
			l.set(on)
			if settles[l.name] {
				pass() // untimed: the pass before ran in the other state
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			start, allocated := processCPU(), m.TotalAlloc
			pass()
			*cpu += processCPU() - start
			runtime.ReadMemStats(&m)
			*alloc += m.TotalAlloc - allocated
		}
	}
	tOn, tOff := alternate(b, run(true, &cpuOn, &allocOn), run(false, &cpuOff, &allocOff))
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
	b.ReportMetric(float64(cpuOn)/float64(cpuOff), "cpu-on/off")
	b.ReportMetric(float64(allocOn)/1e6/float64(b.N), "MB-on/pass")
	b.ReportMetric(float64(allocOff)/1e6/float64(b.N), "MB-off/pass")
}
