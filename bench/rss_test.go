package bench

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rssPeak measures the peak resident set size of the process over one benchmark, set-up
// included, and reports it as "peak-RSS-MB": what the machine must have to run that
// configuration. On Linux, startRSS returns freed memory to the system and resets the kernel's
// high-water mark (clear_refs 5), so that earlier benchmarks of the same process count only with
// what they still hold (cached random checkpoints); pytorch_compare.py runs each configuration in
// a process of its own unless --quick, so that nothing else counts. Elsewhere the metric is the
// peak of the whole process so far, or absent.
type rssPeak struct{}

func startRSS() rssPeak {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // best effort: see rssPeak
	return rssPeak{}
}

// report adds the peak RSS since startRSS, in MiB, to b's results.
func (rssPeak) report(b *testing.B) {
	if kb, ok := highWaterKiB(); ok {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
}

// highWaterKiB reads VmHWM, the peak resident set size, from /proc/self/status.
func highWaterKiB() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

func TestHighWaterKiB(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status on this system: peak RSS is not reported")
	}
	startRSS()
	kb, ok := highWaterKiB()
	if !ok || kb <= 0 {
		t.Fatalf("VmHWM = %d kB, ok %v; want a positive size", kb, ok)
	}
}
