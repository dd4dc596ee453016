package holdback

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the timer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWriter(t *testing.T) {
	tests := []struct {
		name string
		act  func(h *Writer)
		want string
	}{
		{"flushed", func(h *Writer) { fmt.Fprint(h, "a"); h.Flush(); fmt.Fprint(h, "b") }, "ab"},
		{"discarded", func(h *Writer) { fmt.Fprint(h, "a"); h.Discard(); fmt.Fprint(h, "b") }, "b"},
		{"discarded after a flush", func(h *Writer) { fmt.Fprint(h, "a"); h.Flush(); h.Discard(); fmt.Fprint(h, "b") }, "ab"},
		{"held", func(h *Writer) { fmt.Fprint(h, "a") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			h := New(&out, time.Hour)
			tt.act(h)
			if got := out.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriterFlushesAfterTheDelay(t *testing.T) {
	var out syncBuffer
	h := New(&out, time.Millisecond)
	fmt.Fprint(h, "a")
	for deadline := time.Now().Add(10 * time.Second); out.String() != "a"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not flushed")
		}
	}
	fmt.Fprint(h, "b")
	if out.String() != "ab" {
		t.Errorf("got %q", out.String())
	}
}
