package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParseTrainFlags checks that no command line panics, and that every refusal of the flags is
// a usage error that run prints on one line; arguments are the input split at NUL bytes.
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
		if args[0] == "predict" {
			return // run would predict, not parse training flags
		}
		fl, err := parseTrainFlags(args, io.Discard)
		if err == nil {
			_, err = fl.job()
		}
		var usage usageError
		switch {
		case err == nil, errors.Is(err, errHelp):
		case !errors.As(err, &usage):
			t.Fatalf("%q: error %v is not a usage error", args, err)
		default:
			// run stops at the same error, before any work, and prints it on one line.
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, nil, &stdout, &stderr); code != exitUsage || stdout.Len() > 0 ||
				strings.Count(stderr.String(), "\n") != 1 || strings.ContainsRune(stderr.String(), '\r') {
				t.Fatalf("%q: exit %d, stderr %q", args, code, stderr.String())
			}
		}
	})
}
