package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// occupied counts the cores that goroutines declared by Occupy keep busy, beyond the one each
// group's caller would use anyway: up to n − 1 per Occupy(n), one less for each goroutine that
// has left while others of its group still run.
var occupied atomic.Int64

// Occupy declares that n goroutines are about to run products side by side, each on a core of
// its own (a batch split among workers): while they run, a product uses only the cores they
// leave free (Workers), since a helper goroutine on a core that is already working would only
// take turns with the goroutine that waits for it. Each of the n goroutines calls leave once,
// when it is done: its core is then free for the products of those still running, so a part
// that finishes early (the encoder's row split, whose last layer is one part's) lends its core
// to the others. Results do not change: a product's bits do not depend on how many goroutines
// compute it.
func Occupy(n int) (leave func()) {
	if n <= 1 {
		return func() {}
	}
	occupied.Add(int64(n - 1))
	var mu sync.Mutex
	running, lent := n, 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		running--
		switch {
		case running == 0: // the last stands for the caller's core, which was never counted
			occupied.Add(-int64(n - 1 - lent))
		case running > 0 && lendCores.Load():
			lent++
			occupied.Add(-1)
		}
	}
}

// lendCores makes a goroutine that leaves an Occupy group early free its core at once (on by
// default); SetCoreLending switches it.
var lendCores atomic.Bool

func init() { lendCores.Store(true) }

// SetCoreLending makes the goroutines of an Occupy group free their cores one by one as they
// leave (on, the default), or all together when the last one leaves (off), and returns the
// previous setting. Results are the same either way; the switch is for benchmarks that compare
// both in one process.
func SetCoreLending(on bool) (was bool) { return lendCores.Swap(on) }

// Workers returns how many goroutines one product, or one parallel loop of the operators, may
// use now: GOMAXPROCS less the cores that goroutines declared by Occupy keep busy, and at
// least 1 (the caller).
func Workers() int {
	return max(1, runtime.GOMAXPROCS(0)-int(occupied.Load()))
}
