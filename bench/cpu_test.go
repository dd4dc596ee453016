package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer measures the CPU time of the process, user and system, over a benchmark's loop. On a
// shared machine it varies less than the wall time: other processes' load delays a benchmark but
// hardly changes the work it does.
type cpuTimer struct{ start time.Duration }

func startCPU() cpuTimer { return cpuTimer{processCPU()} }

// report adds the CPU milliseconds per iteration to b's results as "cpu-ms/op".
func (t cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-t.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
