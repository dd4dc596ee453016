package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Example is one labelled text or pair of texts.
type Example struct {
	// Text is the sentence, as it appears in the file.
	Text string
	// Pair is the second sentence of a sentence pair (Columns.Pair), empty for a single sentence.
	Pair string
	// Label is the class index, 0 ≤ Label < number of classes; 0 for a regression example.
	Label int
	// Score is the target of a regression example (Columns.Regression), such as STS-B's
	// similarity in [0, 5]; 0 for a classification example.
	Score float64
	// File and Line locate the example's row (Line counts from 1) when it was read by ReadTSV
	// or ParseTSV; errors about the example name them.
	File string
	Line int
}

// ErrMalformed reports a TSV (or CoNLL) file that is empty, too large or has a row that is not a
// labelled example; the wrapping error names the file and, for a bad row, its 1-based line number. A file
// that cannot be opened is reported with the error of the file system (errors.Is(err,
// fs.ErrNotExist) for a missing one), not with ErrMalformed.
var ErrMalformed = errors.New("dataset: malformed TSV")

// Limits of the reader, which keep a mistaken path (a binary file, a device such as /dev/zero)
// from exhausting memory.
const (
	// MaxLineBytes bounds one line of a TSV file.
	MaxLineBytes = 1 << 20
	// MaxFileBytes bounds a whole TSV file: 256 MiB, fifty times GLUE's SST-2 training set.
	MaxFileBytes = 256 << 20
	// MaxLabels bounds the number of classes: labels are below it.
	MaxLabels = 10000
)

// fileLimit is MaxFileBytes, lowered by tests that read past it.
var fileLimit int64 = MaxFileBytes

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
// number of tab-separated fields. Labels are integers from 0 to MaxLabels−1. Empty lines are
// skipped; Windows line endings and a UTF-8 byte-order mark are accepted. The file is read as a
// stream, within MaxLineBytes per line and MaxFileBytes in all. It is ReadTSVColumns with
// the zero Columns.
func ReadTSV(path string) ([]Example, error) { return ReadTSVColumns(path, Columns{}) }

// ReadTSVColumns reads a TSV file as ReadTSV does, with the columns and kind of label cols
// chooses: sentence pairs, regression scores or class names.
func ReadTSVColumns(path string, cols Columns) ([]Example, error) {
	f, err := openData(path, "a TSV file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTSVColumns(f, path, cols)
}

// openData opens the data file path, or reports it missing, a directory (want names what it
// should be) or larger than MaxFileBytes.
func openData(path, want string) (*os.File, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, missingError{path}
	case err != nil:
		return nil, fmt.Errorf("dataset: %w", err)
	case info.IsDir():
		return nil, fmt.Errorf("dataset: %s is a directory, want %s", path, want)
	case info.Mode().IsRegular() && info.Size() > MaxFileBytes:
		return nil, fmt.Errorf("%w: %s: %d MiB, more than the limit of %d MiB", ErrMalformed, path, info.Size()>>20, MaxFileBytes>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return f, nil
}

// ParseTSV reads TSV rows from r as ReadTSV does; name is the file name that errors and the
// examples' File give.
func ParseTSV(r io.Reader, name string) ([]Example, error) {
	return ParseTSVColumns(r, name, Columns{})
}

// ParseTSVColumns reads TSV rows from r as ReadTSVColumns does.
func ParseTSVColumns(r io.Reader, name string, cols Columns) ([]Example, error) {
	examples, perr := parseTSV(&lineReader{r: bufio.NewReaderSize(r, 64<<10), limit: fileLimit}, name, cols)
	if perr != nil {
		return nil, perr.in(ErrMalformed, name)
	}
	return examples, nil
}

// ReadDir reads TrainFile and DevFile from dir.
func ReadDir(dir string) (train, dev []Example, err error) { return ReadDirColumns(dir, Columns{}) }

// ReadDirColumns reads TrainFile and DevFile from dir with the columns cols chooses.
func ReadDirColumns(dir string, cols Columns) (train, dev []Example, err error) {
	if train, err = ReadTSVColumns(filepath.Join(dir, TrainFile), cols); err != nil {
		return nil, nil, err
	}
	if dev, err = ReadTSVColumns(filepath.Join(dir, DevFile), cols); err != nil {
		return nil, nil, err
	}
	return train, dev, nil
}

// missingError reports a data file that does not exist; it wraps fs.ErrNotExist.
type missingError struct{ path string }

func (e missingError) Error() string {
	return fmt.Sprintf("dataset: data file %s does not exist", e.path)
}
func (e missingError) Unwrap() error { return fs.ErrNotExist }

// parseError is a problem with the content of a file, on a 1-based line or, when line is 0, with
// the file as a whole.
type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return e.msg }

// in returns the error as reported for file name: wrapping kind (ErrMalformed, or an error that
// wraps it), naming name and line.
func (e *parseError) in(kind error, name string) error {
	if e.line == 0 {
		return fmt.Errorf("%w: %s: %s", kind, name, e.msg)
	}
	return fmt.Errorf("%w: %s:%d: %s", kind, name, e.line, e.msg)
}

// ScanLines calls fn with each line of r (its 1-based number, and its text without the line
// ending or a first-line byte-order mark) until r ends or fn fails, within MaxLineBytes per line
// and no limit on the whole: for streams such as a command's standard input. A line too long
// fails with ErrMalformed naming name and the line.
func ScanLines(r io.Reader, name string, fn func(line int, text string) error) error {
	lr := &lineReader{r: bufio.NewReaderSize(r, 64<<10), limit: math.MaxInt64}
	for {
		text, err := lr.next()
		var perr *parseError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &perr) && perr.line > 0:
			return fmt.Errorf("%w: %s:%d: %s", ErrMalformed, name, perr.line, perr.msg)
		case err != nil:
			return fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
		}
		if err := fn(lr.line, text); err != nil {
			return err
		}
	}
}

// lineReader reads lines within the limits.
type lineReader struct {
	r     *bufio.Reader
	limit int64 // bytes it may read in all
	line  int   // number of the line last read
	total int64 // bytes read
	buf   []byte
}

// next returns the next line without its line ending, or a parseError, or io.EOF at the end.
func (lr *lineReader) next() (string, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.total += int64(len(chunk))
		lr.buf = append(lr.buf, chunk...)
		switch {
		case lr.total > lr.limit:
			return "", &parseError{0, fmt.Sprintf("more than the limit of %d MiB", lr.limit>>20)}
		case len(lr.buf) > MaxLineBytes+2:
			return "", &parseError{lr.line + 1, fmt.Sprintf("line longer than the limit of %d KiB", MaxLineBytes>>10)}
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(lr.buf) == 0:
			return "", io.EOF
		case err != nil && err != io.EOF:
			return "", &parseError{0, err.Error()}
		}
		lr.line++
		line := bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r"))
		if lr.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		return string(line), nil
	}
}

// parseTSV parses the lines of lr, naming the examples' file name.
func parseTSV(lr *lineReader, name string, cols Columns) ([]Example, *parseError) {
	next := func() (string, *parseError, bool) {
		line, err := lr.next()
		var perr *parseError
		switch {
		case err == io.EOF:
			return "", nil, false
		case errors.As(err, &perr):
			return "", perr, false
		}
		return line, nil, true
	}
	var header string
	for header == "" {
		line, perr, ok := next()
		if perr != nil {
			return nil, perr
		}
		if !ok {
			return nil, &parseError{0, "empty file, want a header row"}
		}
		header = line
	}
	headerLine := lr.line
	fields := strings.Split(header, "\t")
	textCol, pairCol, labelCol, perr := cols.find(fields)
	if perr != "" {
		return nil, &parseError{headerLine, fmt.Sprintf("header %s %s", quoteShort(header), perr)}
	}
	var examples []Example
	row := make([]string, len(fields))
	for {
		line, perr, ok := next()
		if perr != nil {
			return nil, perr
		}
		if !ok {
			break
		}
		if line == "" {
			continue
		}
		if got := splitTabs(line, row); got != len(fields) {
			msg := fmt.Sprintf("%d tab-separated fields, want %d as in the header", got, len(fields))
			if got == 1 {
				msg = "no tab between sentence and label"
			}
			return nil, &parseError{lr.line, msg}
		}
		e := Example{Text: row[textCol], File: name, Line: lr.line}
		if strings.TrimSpace(e.Text) == "" {
			return nil, &parseError{lr.line, "empty sentence"}
		}
		if pairCol >= 0 {
			if e.Pair = row[pairCol]; strings.TrimSpace(e.Pair) == "" {
				return nil, &parseError{lr.line, fmt.Sprintf("empty second sentence (column %q)", strings.TrimSpace(fields[pairCol]))}
			}
		}
		var err error
		switch {
		case cols.Regression:
			e.Score, err = parseScore(row[labelCol])
		case len(cols.LabelNames) > 0:
			e.Label, err = cols.parseName(row[labelCol])
		default:
			e.Label, err = parseLabel(row[labelCol])
		}
		if err != nil {
			return nil, &parseError{lr.line, err.Error()}
		}
		examples = append(examples, e)
	}
	if len(examples) == 0 {
		return nil, &parseError{0, "no examples after the header row"}
	}
	return examples, nil
}

// parseLabel reads a label: an integer from 0 to MaxLabels−1.
func parseLabel(field string) (int, error) {
	label, err := strconv.Atoi(strings.TrimSpace(field))
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && label >= MaxLabels:
		return 0, fmt.Errorf("label %s is too large: labels are class numbers from 0 to at most %d", quoteShort(strings.TrimSpace(field)), MaxLabels-1)
	case err != nil:
		return 0, fmt.Errorf("label %s is not an integer", quoteShort(field))
	case label < 0:
		return 0, fmt.Errorf("label %d is negative", label)
	}
	return label, nil
}

// quoteShort quotes s, or its first bytes and its length when it is long: an error names binary
// garbage without printing kilobytes of it.
func quoteShort(s string) string {
	const limit = 40
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// utf8RuneStart reports whether b can start a UTF-8 sequence.
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

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
