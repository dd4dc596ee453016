package gemm

import (
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
