package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParseTrainFlags checks that no command line panics, and that every refusal is a one-line
// usage error; arguments are the input split at NUL bytes.
func FuzzParseTrainFlags(f *testing.F) {
	for _, s := range []string{
		"--r\x000", "--batch\x000", "--targets\x00", "--targets\x00,,,", "--num-labels\x00100000000000",
		"--lr\x001e30", "--r\x003", "--r\x003\x00--gs", "--adapter\x00oft\x00--r\x004", "--max-len\x001",
		"--dropout\x00NaN", "--save\x00", "-h", "stray", "--epochs=-1", "--seed\x0018446744073709551615",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		fl, err := parseTrainFlags(args, io.Discard)
		if err == nil {
			_, err = fl.job()
		}
		var usage usageError
		switch {
		case err == nil, errors.Is(err, errHelp):
		case !errors.As(err, &usage):
			t.Fatalf("%q: error %v is not a usage error", args, err)
		case strings.ContainsAny(oneLine(err), "\n\r"):
			t.Fatalf("%q: error on several lines: %q", args, err)
		}
	})
}
