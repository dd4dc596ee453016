package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spago-peft/spago-peft/integration/train"
)

// progress draws training progress on w: a bar redrawn in place when w is a terminal, otherwise
// a plain line every tenth of the run, so that logs and pipes stay readable.
type progress struct {
	w        io.Writer
	terminal bool
	total    int // optimiser steps of the whole run
	examples int // examples seen so far
	lastDraw time.Time
	lastTick int // tenth of the run last reported in plain mode
	eval     string
}

// barWidth is the number of cells of the bar.
const barWidth = 24

// redrawEvery limits how often a terminal bar is redrawn.
const redrawEvery = 100 * time.Millisecond

func newProgress(w io.Writer, totalSteps int) *progress {
	return &progress{w: w, terminal: isTerminal(w), total: totalSteps}
}

// isTerminal reports whether w is a character device other than a dumb terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// step reports one optimiser step.
func (p *progress) step(s train.StepInfo) {
	p.examples += s.Examples
	last := s.Step >= p.total
	if p.terminal {
		if last || time.Since(p.lastDraw) >= redrawEvery {
			fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(s))
			p.lastDraw = time.Now()
		}
		return
	}
	if tick := 10 * s.Step / max(p.total, 1); tick > p.lastTick || s.Step == 1 || last {
		p.lastTick = tick
		fmt.Fprintln(p.w, p.line(s))
	}
}

// evaluated records an evaluation on the dev set, shown at the end of the next line.
func (p *progress) evaluated(e train.EvalInfo) {
	p.eval = fmt.Sprintf("dev acc %.1f%% (step %d)", 100*e.Accuracy, e.Step)
	switch {
	case e.Accuracy == 0 && e.Pearson != 0: // a regression model
		p.eval = fmt.Sprintf("dev Pearson %.3f (step %d)", e.Pearson, e.Step)
	case e.Tokens > 0:
		p.eval = fmt.Sprintf("dev entity F1 %.3f (step %d)", e.EntityF1, e.Step)
	}
}

// done ends the terminal bar's line.
func (p *progress) done() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

// line describes the run after step s: bar, step, epoch, loss, throughput and time left.
func (p *progress) line(s train.StepInfo) string {
	frac := min(1, float64(s.Step)/float64(max(p.total, 1)))
	filled := int(frac * barWidth)
	perSec := float64(p.examples) / max(s.Elapsed.Seconds(), 1e-9)
	left := time.Duration(float64(s.Elapsed) / float64(s.Step) * float64(p.total-s.Step)).Round(time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "%3.0f%% [%s%s] step %d/%d epoch %d  loss %.4f  %.0f ex/s  %v left",
		100*frac, strings.Repeat("█", filled), strings.Repeat("·", barWidth-filled),
		s.Step, p.total, s.Epoch, s.Loss, perSec, left)
	if p.eval != "" {
		b.WriteString("  " + p.eval)
	}
	return b.String()
}

// downloadProgress reports hub downloads on w: a line per file when it completes (if the server
// gave its size), and on a terminal a running count of megabytes.
func downloadProgress(w io.Writer) func(file string, done, total int64) {
	terminal := isTerminal(w)
	var last time.Time
	return func(file string, done, total int64) {
		mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
		switch {
		case done == total:
			if terminal {
				fmt.Fprint(w, "\r\x1b[K")
			}
			fmt.Fprintf(w, "downloaded %s (%s)\n", file, mb(done))
		case terminal && time.Since(last) >= redrawEvery:
			last = time.Now()
			fmt.Fprintf(w, "\rdownloading %s: %s of %s\x1b[K", file, mb(done), mb(total))
		}
	}
}
