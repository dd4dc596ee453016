package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFile writes content to name in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadTSV(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []Example
	}{
		{"plain", "sentence\tlabel\na fine film\t1\ndull\t0\n",
			[]Example{{Text: "a fine film", Label: 1, Line: 2}, {Text: "dull", Label: 0, Line: 3}}},
		{"no final newline", "sentence\tlabel\ngood\t1",
			[]Example{{Text: "good", Label: 1, Line: 2}}},
		{"crlf and bom", "\uFEFFsentence\tlabel\r\ngood\t1\r\nbad\t0\r\n",
			[]Example{{Text: "good", Label: 1, Line: 2}, {Text: "bad", Label: 0, Line: 3}}},
		{"empty lines skipped", "\nsentence\tlabel\n\ngood\t2\n\n\n",
			[]Example{{Text: "good", Label: 2, Line: 4}}},
		{"extra columns by name", "index\tlabel\tsentence\n0\t1\tgood\n1\t0\tbad\n",
			[]Example{{Text: "good", Label: 1, Line: 2}, {Text: "bad", Label: 0, Line: 3}}},
		{"spaces kept in text", "sentence\tlabel\n a , b \t 1 \n",
			[]Example{{Text: " a , b ", Label: 1, Line: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "data.tsv", tt.content)
			got, err := ReadTSV(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].File = path
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadTSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // suffix of the error after the path
	}{
		{"empty file", "", ": empty file, want a header row"},
		{"blank file", "\n\r\n", ": empty file, want a header row"},
		{"header only", "sentence\tlabel\n", ": no examples after the header row"},
		{"header without label", "sentence\tscore\ngood\t1\n", `:1: header "sentence\tscore" lacks a "sentence" or a "label" column`},
		{"bad label", "sentence\tlabel\ngood\t1\nbad\tx\n", `:3: label "x" is not an integer`},
		{"float label", "sentence\tlabel\ngood\t0.5\n", `:2: label "0.5" is not an integer`},
		{"negative label", "sentence\tlabel\ngood\t-1\n", ":2: label -1 is negative"},
		{"no tab", "sentence\tlabel\ngood 1\n", ":2: no tab between sentence and label"},
		{"too many tabs", "sentence\tlabel\ngood\t1\t2\n", ":2: 3 tab-separated fields, want 2 as in the header"},
		{"empty sentence", "sentence\tlabel\n\t1\n", ":2: empty sentence"},
		{"blank sentence", "sentence\tlabel\ngood\t1\n\n  \t1\n", ":4: empty sentence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "data.tsv", tt.content)
			_, err := ReadTSV(path)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if want := path + tt.want; !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q, want it to end in %q", err, want)
			}
		})
	}
}

func TestReadTSVMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.tsv")
	_, err := ReadTSV(path)
	if errors.Is(err, ErrMalformed) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want os.ErrNotExist and not ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, TrainFile, "sentence\tlabel\ngood\t1\nbad\t0\n")
	_, _, err := ReadDir(dir)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), DevFile) {
		t.Fatalf("without dev.tsv: error %v, want os.ErrNotExist naming %s", err, DevFile)
	}
	writeFile(t, dir, DevFile, "sentence\tlabel\nfine\t1\n")
	train, dev, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 2 || len(dev) != 1 || dev[0] != (Example{Text: "fine", Label: 1, File: filepath.Join(dir, DevFile), Line: 2}) {
		t.Errorf("train %+v, dev %+v", train, dev)
	}
}

// sst2Dir is the SST-2 copy shared by the project's sessions, if present.
const sst2Dir = "../../../shared/data/sst2"

func TestReadDirSST2(t *testing.T) {
	if _, err := os.Stat(sst2Dir); err != nil {
		t.Skipf("SST-2 not available at %s: %v", sst2Dir, err)
	}
	train, dev, err := ReadDir(sst2Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 67349 || len(dev) != 872 {
		t.Errorf("%d train and %d dev examples, want 67349 and 872", len(train), len(dev))
	}
	if NumLabels(train) != 2 || NumLabels(dev) != 2 {
		t.Errorf("NumLabels: train %d, dev %d, want 2", NumLabels(train), NumLabels(dev))
	}
	if want := (Example{Text: "hide new secretions from the parental units", Label: 0, File: filepath.Join(sst2Dir, TrainFile), Line: 2}); train[0] != want {
		t.Errorf("first example %+v, want %+v", train[0], want)
	}
}

func BenchmarkReadTSVSST2(b *testing.B) {
	path := filepath.Join(sst2Dir, TrainFile)
	info, err := os.Stat(path)
	if err != nil {
		b.Skipf("SST-2 not available: %v", err)
	}
	b.SetBytes(info.Size())
	for b.Loop() {
		if _, err := ReadTSV(path); err != nil {
			b.Fatal(err)
		}
	}
}
