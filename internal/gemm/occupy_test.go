package gemm

import (
	"runtime"
	"testing"
)

// TestOccupyLeave checks the cores an Occupy group takes as its goroutines leave: with lending,
// one back per goroutine that leaves while others still run; without, all back when the last
// leaves; either way none taken once all have left, and a second group adds up with the first.
func TestOccupyLeave(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, lend := range []bool{true, false} {
		was := SetCoreLending(lend)
		free := func(step string, want int) {
			t.Helper()
			if got := Workers(); got != want {
				t.Errorf("lend %v, %s: Workers() = %d, want %d", lend, step, got, want)
			}
		}
		free("before", 8)
		leave := Occupy(4)
		free("group of 4", 5)
		other := Occupy(2)
		free("and a group of 2", 4)
		leave()
		leave()
		if lend {
			free("two of 4 left", 6)
		} else {
			free("two of 4 left", 4)
		}
		leave()
		leave()
		free("all of 4 left", 7)
		other()
		other()
		free("all left", 8)
		Occupy(1)()
		free("a group of 1", 8)
		SetCoreLending(was)
	}
}
