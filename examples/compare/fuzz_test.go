package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// FuzzParseFlags checks that no command line panics, that a refusal prints as one line, and
// that an accepted one has the budget and methods compare needs; arguments are the input split
// at NUL bytes.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{
		"--hra-r\x000", "--lora-r\x000", "--oft-block\x000", "--targets\x00", "--targets\x00,,,", "--steps\x000",
		"--methods\x00hra,hra,lora", "--lr\x001e30", "--lr-hra\x00-1", "--hra-gs\x00--hra-lambda\x000.1", "--out\x00", "-h",
		"--methods\x00,", "--eval-every\x00-3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		o, err := parseFlags(args, io.Discard)
		switch {
		case errors.Is(err, flag.ErrHelp):
		case err != nil:
			// run stops at the same error, before any work, and prints it on one line.
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || stdout.Len() > 0 ||
				strings.Count(stderr.String(), "\n") != 1 || strings.ContainsRune(stderr.String(), '\r') {
				t.Fatalf("%q: exit %d, stderr %q", args, code, stderr.String())
			}
		case o.steps < 1 || o.batch < 1 || o.maxLen < 2 || o.out == "" || len(o.methods) == 0:
			t.Fatalf("%q: accepted %+v", args, o)
		}
		if err == nil {
			for _, m := range o.methods {
				if !(m.lr > 0) {
					t.Fatalf("%q: method %s with lr %v", args, m.kind, m.lr)
				}
			}
		}
	})
}
