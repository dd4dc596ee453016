package gemm

import (
	"runtime"
	"sync/atomic"
)

// occupied counts the cores that goroutines declared by Occupy keep busy, beyond the one each
// group's caller would use anyway: n − 1 per Occupy(n).
var occupied atomic.Int64

// Occupy declares that n goroutines are about to run products side by side, each on a core of
// its own (a batch split among workers), until release is called: while they run, a product
// uses only the cores they leave free (Workers), since a helper goroutine on a core that is
// already working would only take turns with the goroutine that waits for it. Results do not
// change: a product's bits do not depend on how many goroutines compute it.
func Occupy(n int) (release func()) {
	if n <= 1 {
		return func() {}
	}
	occupied.Add(int64(n - 1))
	return func() { occupied.Add(-int64(n - 1)) }
}

// Workers returns how many goroutines one product, or one parallel loop of the operators, may
// use now: GOMAXPROCS less the cores that goroutines declared by Occupy keep busy, and at
// least 1 (the caller).
func Workers() int {
	return max(1, runtime.GOMAXPROCS(0)-int(occupied.Load()))
}
