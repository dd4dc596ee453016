//go:build race

package op

// raceEnabled is set when the race detector runs, under which sync.Pool drops buffers at random.
const raceEnabled = true
