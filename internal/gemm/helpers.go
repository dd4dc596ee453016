package gemm

import (
	"runtime"
	"sync/atomic"
)

// helperSpins is how many times (~150 ns each) a helper goroutine yields, waiting for the
// next product, before it exits: some 50 µs by default. Waking a parked goroutine on another
// core takes tens of microseconds, as long as a mid-sized product takes on one core, so in a
// run of products a helper that waits briefly joins the next one at once.
var helperSpins atomic.Int64

// Helper waits, in yields: briefSpins by default, longSpins with SetLongHelperWait.
const (
	briefSpins = 300
	longSpins  = 3000
)

func init() { helperSpins.Store(briefSpins) }

// SetLongHelperWait makes helper goroutines wait some 0.5 ms (on) or 50 µs (off, the default)
// for the next product before they exit, and returns the previous setting. A MiniLM pass at
// batch 1 on a loaded machine started a new helper goroutine for 27 of its 36 parallel products
// (the helper had exited in the gap), each waiting for a parked P to wake; a longer wait keeps
// one, but spins on a core that another process may need. For benchmarks on an idle machine
// (BenchmarkLevers' "spin"); call it only while no product runs.
func SetLongHelperWait(on bool) (was bool) {
	was = helperSpins.Load() == longSpins
	if on {
		helperSpins.Store(longSpins)
	} else {
		helperSpins.Store(briefSpins)
	}
	return was
}

var (
	// helperTasks passes products to waiting helpers.
	helperTasks = make(chan func(), 64)
	// waitingHelpers counts the helpers waiting for a task, less the tasks promised to them
	// and not yet received.
	waitingHelpers atomic.Int64
)

// helpersLeaveEarly lets a helper leave a product once its last phase has no unit left to
// claim, rather than wait for the others to finish theirs (see job.work);
// SetHelpersLeaveEarly switches it. Atomic: a helper may still be finishing a product when
// the switch changes.
var helpersLeaveEarly atomic.Bool

func init() { helpersLeaveEarly.Store(true) }

// SetHelpersLeaveEarly makes helper goroutines leave a product as soon as no unit of its last
// phase is left to claim (on) or only once it is done (off), and returns the previous setting:
// the same bits either way, for benchmarks that compare both within one process. Call it only
// while no product runs.
func SetHelpersLeaveEarly(on bool) (was bool) {
	return helpersLeaveEarly.Swap(on)
}

// startHelper has task run by a waiting helper goroutine, or by a new one if none waits.
func startHelper(task func()) {
	for {
		w := waitingHelpers.Load()
		if w == 0 {
			go helper(task)
			return
		}
		if waitingHelpers.CompareAndSwap(w, w-1) {
			helperTasks <- task // promised to a waiting helper, which will receive it
			return
		}
	}
}

// helper runs task, then waits a little for more before it exits.
func helper(task func()) {
	for task != nil {
		task()
		task = nextTask()
	}
}

// nextTask waits up to helperSpins yields for a task; it returns nil if none came and no
// task was promised to this helper.
func nextTask() func() {
	waitingHelpers.Add(1)
	for range helperSpins.Load() {
		select {
		case task := <-helperTasks:
			return task
		default:
			runtime.Gosched()
		}
	}
	for {
		w := waitingHelpers.Load()
		if w == 0 {
			// Every waiting helper has a task promised, this one too: take it.
			return <-helperTasks
		}
		if waitingHelpers.CompareAndSwap(w, w-1) {
			return nil
		}
	}
}
