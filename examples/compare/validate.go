package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spago-peft/spago-peft/internal/atomicdir"
)

// holdProgress is how long progress output is held back (see holdback).
const holdProgress = 5 * time.Second

// exitInterrupted is the exit status after Ctrl-C: 128 + SIGINT, as shells report it.
const exitInterrupted = 130

// exitStatuses documents the exit codes in --help.
const exitStatuses = "\nExit status: 0 success; 2 bad flags or input (found before training starts, --out included); 1 training or writing failed; 130 interrupted.\n"

// zeroIsDefault lists the flags whose zero value a method would replace with its default: set
// explicitly to 0 they would be silently ignored, so they are refused.
var zeroIsDefault = []string{"hra-r", "lora-r", "oft-block"}

// checkSetFlags refuses flags set to a value that would be ignored: a zero that means the
// default, a --targets that names no module.
func checkSetFlags(fs *flag.FlagSet, targets string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case err != nil:
		case f.Value.String() == "0" && slices.Contains(zeroIsDefault, f.Name):
			err = fmt.Errorf("--%s 0: want at least 1; leave the flag out for the default", f.Name)
		case f.Name == "targets" && strings.Trim(targets, ", \t") == "":
			err = fmt.Errorf("--targets %q names no module: give comma-separated module names, such as query,value", targets)
		}
	})
	return err
}

// oneLine keeps an error message on one line: a flag name or a path may hold line breaks.
func oneLine(err error) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(err.Error()) }

// checkOut reports, before any training, what would keep the results from being written to out:
// a file or a dangling link in its place, a directory that cannot be written, other
// subdirectories in it.
func checkOut(out string) error {
	if err := atomicdir.Check(out, []string{csvFile, jsonFile, plotFile}); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}
