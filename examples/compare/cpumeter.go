package main

import "time"

// cpuMeter measures the process's CPU time (user and system, all threads) per optimiser step.
// Unlike wall time it hardly depends on what else the machine runs. It counts the time from the
// end of one step to the end of the next, leaving out the first step (whose interval includes
// building the model) and intervals that include an evaluation.
type cpuMeter struct {
	last    time.Duration
	started bool
	total   time.Duration
	steps   int
}

// stepDone is called at the end of each step.
func (m *cpuMeter) stepDone() {
	now, ok := processCPUTime()
	if !ok {
		return
	}
	if m.started {
		m.total += now - m.last
		m.steps++
	}
	m.last, m.started = now, true
}

// restart drops the time since the last step, such as an evaluation's.
func (m *cpuMeter) restart() {
	m.last, _ = processCPUTime()
}

// perStep is the mean CPU time of the steps counted, 0 if none was.
func (m *cpuMeter) perStep() time.Duration {
	if m.steps == 0 {
		return 0
	}
	return m.total / time.Duration(m.steps)
}
