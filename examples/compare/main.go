// Command compare fine-tunes one base model with HRA, LoRA and OFT, and with the two baselines
// (the classification head alone, and every weight), on the same data, seed, step budget and
// target modules, and reports them side by side: a Markdown table on stdout, and results.csv,
// results.json and curves.png (dev accuracy and training loss against steps) in --out.
//
// With no flags it runs offline on the built-in default base, a small BERT with RANDOM weights,
// and the embedded sample data: that shows the tool works, not which method is better. For
// meaningful numbers point it at a pretrained checkpoint and a real data set:
//
//	go run ./examples/compare --model sentence-transformers/all-MiniLM-L6-v2 --data path/to/glue/SST-2 \
//	    --train-limit 1000 --epochs 1 --batch 16 --max-len 64 --dropout 0.1 --seeds 3
//
// RESULTS.md has the same experiment beside Hugging Face PEFT's (peft_compare.py), with the exact
// commands.
//
// Exit status: 0 on success, 2 for bad flags or unusable input (model, data, targets, an --out
// that cannot be written), found before training; 1 for a failure while training or writing the
// results; 130 when interrupted (Ctrl-C).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spago-peft/spago-peft/internal/holdback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes of run.
const (
	exitOK      = 0
	exitFailure = 1 // training or writing failed
	exitUsage   = 2 // bad flags or input
)

// inputError is an error in what the user gave (flags, model, data, targets), as opposed to a
// failure while running; run exits with exitUsage for it.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// run is the command with its arguments and output streams, returning the exit code: the
// Markdown table goes to stdout, progress and errors to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "compare: %s (see --help)\n", oneLine(err))
		return exitUsage
	}
	if err := checkOut(opts.out); err != nil {
		fmt.Fprintf(stderr, "compare: %s\n", oneLine(err))
		return exitUsage
	}
	// Progress is held back a moment, so that a run failing at once prints its error alone.
	progress := holdback.New(stderr, holdProgress)
	defer progress.Flush()
	if err := compareAndReport(ctx, opts, stdout, progress); err != nil {
		progress.Discard()
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "compare: interrupted")
			return exitInterrupted
		}
		fmt.Fprintf(stderr, "compare: %s\n", oneLine(err))
		if errors.As(err, new(inputError)) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}
