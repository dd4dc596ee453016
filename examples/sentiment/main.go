// Command sentiment fine-tunes a BERT sentiment classifier with a parameter-efficient adapter
// (HRA by default, or LoRA or OFT), saves the adapter in PEFT's format and classifies sentences
// with it.
//
// With no flags it runs offline: it trains on a small sample of movie-review sentences embedded
// in the program, on a small BERT built on the spot with RANDOM weights (no pretrained model can
// be assumed to be on the machine). The run shows the whole workflow in a minute or two, but the
// accuracy of a random base says little. For real results, point --model at a Hugging Face BERT
// directory or hub name and --data at your data:
//
//	go run ./examples/sentiment --model bert-base-uncased --data path/to/glue/SST-2
//	go run ./examples/sentiment predict --adapter-dir sentiment-adapter "a gorgeous, moving film"
//
// Data is GLUE-style TSV: a header row naming a "sentence" and a "label" column, then one
// sentence<TAB>label row per example, labels 0 (negative) and 1 (positive) or more classes.
// --task regress trains a one-output head on float scores (STS-B), --pair (or GLUE's
// sentence1/sentence2 header) trains on sentence pairs, and --task tokens tags every word of
// CoNLL files (named entities):
//
//	go run ./examples/sentiment --task regress --data path/to/glue/STS-B --model bert-base-uncased
//	go run ./examples/sentiment --task tokens --data path/to/conll2003 --model bert-base-cased
//
// --data takes a directory with train.tsv and dev.tsv, or one file from which a tenth is held out
// for evaluation (or pass the dev file with --dev).
//
// Exit status: 0 on success; 2 for bad flags or input, found before any training (the one-line
// message names the file and line of a bad row, and a --save directory that cannot be written);
// 1 when training fails (a diverging loss) or saving fails; 130 when interrupted (Ctrl-C), with
// the previous adapter left as it was.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spago-peft/spago-peft/internal/holdback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1   // training or saving failed
	exitUsage   = 2   // bad flags, arguments or input files
	exitSignal  = 130 // interrupted: 128 + SIGINT, as shells report it
)

// exitStatuses documents the exit codes in --help.
const exitStatuses = "\nExit status: 0 success; 2 bad flags or input (found before training starts); 1 training or saving failed; 130 interrupted.\n"

// usageError marks an error as the user's input's fault: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// holdProgress is how long progress output is held back (see holdback), unless stderr is a
// terminal: a run failing sooner prints its error line alone.
const holdProgress = 5 * time.Second

// run is the whole command: args are the arguments after the program name. Results go to stdout,
// progress and errors to stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	progress := io.Writer(stderr)
	if !isTerminal(stderr) {
		held := holdback.New(stderr, holdProgress)
		defer held.Flush()
		progress = held
	}
	var err error
	if len(args) > 0 && args[0] == "predict" {
		err = runPredict(ctx, args[1:], stdin, stdout, progress)
	} else {
		err = runTrain(ctx, args, stdout, progress)
	}
	if held, ok := progress.(*holdback.Writer); ok && err != nil && !errors.Is(err, errHelp) {
		held.Discard()
	}
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "sentiment: interrupted")
		return exitSignal
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "sentiment:", oneLine(err))
		return exitUsage
	default:
		fmt.Fprintln(stderr, "sentiment:", oneLine(err))
		return exitFailure
	}
}

// errHelp reports that -h or --help printed the usage.
var errHelp = errors.New("help requested")

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	s := []rune(err.Error())
	for i, r := range s {
		if r == '\n' || r == '\r' {
			s[i] = ' '
		}
	}
	return string(s)
}
