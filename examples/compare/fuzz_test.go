package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// FuzzParseFlags checks that no command line panics, and that an accepted one has the budget
// and methods compare needs; arguments are the input split at NUL bytes.
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
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("%q: error on several lines: %q", args, err)
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
