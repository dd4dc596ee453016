package gemm

import (
	"runtime"
	"sync/atomic"
)

// helperSpins is how many times (~150 ns each) a helper goroutine yields, waiting for the
// next product, before it exits: some 50 µs. Waking a parked goroutine on another core takes
// tens of microseconds, as long as a mid-sized product takes on one core, so in a run of
// products a helper that waits briefly joins the next one at once.
const helperSpins = 300

var (
	// helperTasks passes products to waiting helpers.
	helperTasks = make(chan func(), 64)
	// waitingHelpers counts the helpers waiting for a task, less the tasks promised to them
	// and not yet received.
	waitingHelpers atomic.Int64
)

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
	for range helperSpins {
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
