package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Example is one labelled text.
type Example struct {
	// Text is the sentence, as it appears in the file.
	Text string
	// Label is the class index, 0 ≤ Label < number of classes.
	Label int
	// File and Line locate the example's row (Line counts from 1) when it was read by ReadTSV;
	// errors about the example name them.
	File string
	Line int
}

// ErrMalformed reports a TSV file that is missing, empty or has a row that is not a labelled
// example; the wrapping error names the file and, for a bad row, its 1-based line number.
var ErrMalformed = errors.New("dataset: malformed TSV")

// Column names looked up in the header row.
const (
	textColumn  = "sentence"
	labelColumn = "label"
)

// Files read by ReadDir.
const (
	TrainFile = "train.tsv"
	DevFile   = "dev.tsv"
)

// ReadTSV reads a GLUE-style TSV file: a header row naming a "sentence" and a "label" column
// (other columns, such as GLUE's "index", are ignored), then one row per example with the same
// number of tab-separated fields. Labels are non-negative integers. Empty lines are skipped;
// Windows line endings and a UTF-8 byte-order mark are accepted.
func ReadTSV(path string) ([]Example, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	examples, perr := parseTSV(string(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	switch {
	case perr == nil:
		for i := range examples {
			examples[i].File = path
		}
		return examples, nil
	case perr.line == 0:
		return nil, fmt.Errorf("%w: %s: %s", ErrMalformed, path, perr.msg)
	default:
		return nil, fmt.Errorf("%w: %s:%d: %s", ErrMalformed, path, perr.line, perr.msg)
	}
}

// ReadDir reads TrainFile and DevFile from dir.
func ReadDir(dir string) (train, dev []Example, err error) {
	if train, err = ReadTSV(filepath.Join(dir, TrainFile)); err != nil {
		return nil, nil, err
	}
	if dev, err = ReadTSV(filepath.Join(dir, DevFile)); err != nil {
		return nil, nil, err
	}
	return train, dev, nil
}

// parseError is a problem with the content of a file, on a 1-based line or, when line is 0, with
// the file as a whole.
type parseError struct {
	line int
	msg  string
}

// parseTSV parses a whole file held in one string; each Text is a substring of it, so the file
// costs one allocation instead of one per example.
func parseTSV(s string) ([]Example, *parseError) {
	var header string
	lineNo := 0
	for header == "" && s != "" {
		header, s = nextLine(s)
		lineNo++
	}
	if header == "" {
		return nil, &parseError{0, "empty file, want a header row"}
	}
	fields := strings.Split(header, "\t")
	textCol, labelCol := -1, -1
	for i, f := range fields {
		switch strings.TrimSpace(f) {
		case textColumn:
			textCol = i
		case labelColumn:
			labelCol = i
		}
	}
	if textCol < 0 || labelCol < 0 {
		return nil, &parseError{lineNo, fmt.Sprintf("header %q lacks a %q or a %q column", header, textColumn, labelColumn)}
	}
	examples := make([]Example, 0, strings.Count(s, "\n")+1)
	row := make([]string, len(fields))
	for s != "" {
		var line string
		line, s = nextLine(s)
		lineNo++
		if line == "" {
			continue
		}
		if got := splitTabs(line, row); got != len(fields) {
			msg := fmt.Sprintf("%d tab-separated fields, want %d as in the header", got, len(fields))
			if got == 1 {
				msg = "no tab between sentence and label"
			}
			return nil, &parseError{lineNo, msg}
		}
		text := row[textCol]
		if strings.TrimSpace(text) == "" {
			return nil, &parseError{lineNo, "empty sentence"}
		}
		label, err := strconv.Atoi(strings.TrimSpace(row[labelCol]))
		if err != nil {
			return nil, &parseError{lineNo, fmt.Sprintf("label %q is not an integer", row[labelCol])}
		}
		if label < 0 {
			return nil, &parseError{lineNo, fmt.Sprintf("label %d is negative", label)}
		}
		examples = append(examples, Example{Text: text, Label: label, Line: lineNo})
	}
	if len(examples) == 0 {
		return nil, &parseError{0, "no examples after the header row"}
	}
	return examples, nil
}

// nextLine splits off the first line of s, without its line ending.
func nextLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest
}

// splitTabs splits line at tabs into row and returns the number of fields, which may exceed
// len(row) (the extra fields are counted but not stored).
func splitTabs(line string, row []string) int {
	n := 0
	for {
		i := strings.IndexByte(line, '\t')
		field := line
		if i >= 0 {
			field = line[:i]
		}
		if n < len(row) {
			row[n] = field
		}
		n++
		if i < 0 {
			return n
		}
		line = line[i+1:]
	}
}
