// Package holdback holds a command's progress output back for a moment, so that a run that
// fails at once (bad flags, a bad data row, a destination that cannot be written) prints only
// its one-line error, while a long run still shows its progress after a short delay.
package holdback

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Writer passes writes to an underlying writer once Flush is called or a delay has passed since
// it was made; until then it holds them, and Discard drops them.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	held    bytes.Buffer
	passing bool
	timer   *time.Timer
}

// New returns a Writer to w that holds writes for delay.
func New(w io.Writer, delay time.Duration) *Writer {
	h := &Writer{w: w}
	h.timer = time.AfterFunc(delay, h.Flush)
	return h
}

// Write holds p, or writes it to the underlying writer once the Writer passes writes through.
func (h *Writer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.passing {
		return h.w.Write(p)
	}
	return h.held.Write(p)
}

// Flush writes what is held, and every later write at once.
func (h *Writer) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer.Stop()
	if !h.passing {
		h.passing = true
		h.w.Write(h.held.Bytes())
		h.held.Reset()
	}
}

// Discard drops what is held (nothing, if it was already written) and passes later writes
// through.
func (h *Writer) Discard() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer.Stop()
	h.held.Reset()
	h.passing = true
}
