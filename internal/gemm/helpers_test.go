package gemm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestHelpersRunEveryTask hands tasks to helpers from several goroutines, with pauses about
// as long as a helper waits, so that tasks meet helpers that are waiting, exiting or gone.
func TestHelpersRunEveryTask(t *testing.T) {
	const submitters, tasks = 4, 300
	var ran sync.WaitGroup
	ran.Add(submitters * tasks)
	var submit sync.WaitGroup
	for s := range submitters {
		submit.Go(func() {
			for i := range tasks {
				startHelper(ran.Done)
				if (i+s)%7 == 0 {
					time.Sleep(time.Duration(i%4) * 20 * time.Microsecond)
				}
			}
		})
	}
	submit.Wait()
	done := make(chan struct{})
	go func() {
		ran.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a task handed to startHelper never ran")
	}
}

// TestHelperSettings checks that products split across goroutines give the same bits however
// long helpers wait and whether they leave a product's last phase early, products with B kept
// packed too, several in a row.
func TestHelperSettings(t *testing.T) {
	defer SetLongHelperWait(SetLongHelperWait(false))
	defer SetHelpersLeaveEarly(SetHelpersLeaveEarly(true))
	rng := rand.New(rand.NewPCG(9, 10))
	s := shape{32, 384, 1536}
	a, lda, b, ldb := randomOperands(rng, s, [2]bool{false, true})
	want := make([]float32, s.m*s.n)
	Gemm(false, true, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, want, s.n)
	for _, long := range []bool{false, true} {
		for _, leave := range []bool{false, true} {
			SetLongHelperWait(long)
			SetHelpersLeaveEarly(leave)
			for round := range 3 {
				got, cached := make([]float32, len(want)), make([]float32, len(want))
				Gemm(false, true, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, got, s.n)
				GemmCachedB(false, true, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, cached, s.n)
				what := fmt.Sprintf("long wait %v, leave early %v, round %d", long, leave, round)
				mustEqual(t, what, got, want)
				mustEqual(t, what+", B kept packed", cached, want)
			}
		}
	}
}
