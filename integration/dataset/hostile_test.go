package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// endless is an endless stream of one byte, like /dev/zero.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// Input that once exhausted memory or printed kilobytes of garbage fails early with one short
// line naming the file and, for a row, its line.
func TestParseTSVHostile(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+1)
	defer func(limit int64) { fileLimit = limit }(fileLimit)
	fileLimit = 8 << 20 // reading 256 MiB of empty lines would take seconds
	tests := []struct {
		name string
		in   io.Reader
		want string // suffix of the error after "dataset: malformed TSV: data.tsv"
	}{
		{"endless zeros", endless(0), ":1: line longer than the limit of 1024 KiB"},
		{"endless newlines", endless('\n'), ": more than the limit of 8 MiB"},
		{"long row", strings.NewReader("sentence\tlabel\n" + long + "\t1\n"), ":2: line longer than the limit of 1024 KiB"},
		{"huge label", strings.NewReader("sentence\tlabel\ngood\t1\nbad\t100000000000\n"), `:3: label "100000000000" is too large: labels are class numbers from 0 to at most 9999`},
		{"label past int64", strings.NewReader("sentence\tlabel\ngood\t99999999999999999999999\n"), `:2: label "99999999999999999999999" is too large: labels are class numbers from 0 to at most 9999`},
		{"label at the limit", strings.NewReader("sentence\tlabel\ngood\t10000\n"), `:2: label "10000" is too large: labels are class numbers from 0 to at most 9999`},
		{"binary header", strings.NewReader(strings.Repeat("\x00\x01garbage", 1000) + "\n"), `:1: header "\x00\x01garbage\x00\x01garbage\x00\x01garbage\x00\x01garbage\x00\x01ga"… (9000 bytes) lacks a "sentence" or a "label" column`},
		{"long label", strings.NewReader("sentence\tlabel\ngood\t" + strings.Repeat("y", 500) + "\n"), `:2: label "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"… (500 bytes) is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTSV(tt.in, "data.tsv")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if want := "dataset: malformed TSV: data.tsv" + tt.want; err.Error() != want {
				t.Errorf("error\n%q, want\n%q", err, want)
			}
		})
	}
}

func TestReadTSVNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadTSV(dir); err == nil || err.Error() != "dataset: "+dir+" is a directory, want a TSV file" {
		t.Errorf("directory: error %v", err)
	}
	big := filepath.Join(dir, "big.tsv")
	if err := os.WriteFile(big, []byte("sentence\tlabel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxFileBytes+1<<20); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	_, err := ReadTSV(big)
	if !errors.Is(err, ErrMalformed) || !strings.HasSuffix(err.Error(), big+": 257 MiB, more than the limit of 256 MiB") {
		t.Errorf("large file: error %v", err)
	}
}

// FuzzParseTSV checks that no input panics, and that every example read has a non-blank text, a
// label in range and the line it came from.
func FuzzParseTSV(f *testing.F) {
	for _, s := range []string{
		"sentence\tlabel\na fine film\t1\ndull\t0\n",
		"\uFEFFindex\tlabel\tsentence\r\n0\t1\tgood\r\n\r\n1\t0\tbad",
		"sentence\tlabel\n\t1\n", "sentence\tlabel\nx\t-1\n", "sentence\tlabel\nx\t9999\n", "label\nx\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		examples, err := ParseTSV(strings.NewReader(s), "fuzz.tsv")
		if err != nil {
			if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line wrapping ErrMalformed", err)
			}
			return
		}
		lines := strings.Split(s, "\n")
		for _, e := range examples {
			if strings.TrimSpace(e.Text) == "" || e.Label < 0 || e.Label >= MaxLabels || e.File != "fuzz.tsv" || e.Line < 2 || e.Line > len(lines) {
				t.Fatalf("bad example %+v", e)
			}
			if !strings.Contains(lines[e.Line-1], e.Text) {
				t.Fatalf("example %+v is not on its line %q", e, lines[e.Line-1])
			}
		}
	})
}

func TestScanLines(t *testing.T) {
	var got []string
	err := ScanLines(strings.NewReader("\uFEFFone\r\n\ntwo\nthree"), "stdin", func(line int, text string) error {
		got = append(got, fmt.Sprintf("%d:%s", line, text))
		return nil
	})
	if err != nil || strings.Join(got, " ") != "1:one 2: 3:two 4:three" {
		t.Errorf("got %q, %v", got, err)
	}
	err = ScanLines(io.MultiReader(strings.NewReader("ok\n"), io.LimitReader(endless('a'), MaxLineBytes+10)), "stdin", func(int, string) error { return nil })
	if !errors.Is(err, ErrMalformed) || err.Error() != "dataset: malformed TSV: stdin:2: line longer than the limit of 1024 KiB" {
		t.Errorf("long line: %v", err)
	}
	stop := errors.New("stop")
	if err := ScanLines(strings.NewReader("a\nb\n"), "stdin", func(int, string) error { return stop }); err != stop {
		t.Errorf("the callback's error: %v", err)
	}
}
