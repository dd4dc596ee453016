package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Sentence is one sentence of a token-classification file: its words and the tag of each, such
// as CoNLL-2003's B-PER, I-PER, O.
type Sentence struct {
	Words, Tags []string
	// File and Line locate the sentence's first word (Line counts from 1).
	File string
	Line int
}

// errMalformedCoNLL reports a malformed CoNLL file; it is ErrMalformed.
var errMalformedCoNLL = malformedKind("dataset: malformed CoNLL file")

// malformedKind is ErrMalformed under another message.
type malformedKind string

func (k malformedKind) Error() string { return string(k) }
func (k malformedKind) Unwrap() error { return ErrMalformed }

// Files read by ReadCoNLLDir.
const (
	CoNLLTrainFile = "train.txt"
	CoNLLDevFile   = "dev.txt"
)

// IgnoreTag is the label id that transformers' losses ignore (-100): the label of word pieces
// after a word's first and of special tokens. It is never a tag.
const IgnoreTag = -100

// ReadCoNLL reads a token-classification file in CoNLL-2003's layout: one word per line with its
// columns separated by spaces or tabs, the word first and its tag last (CoNLL-2003: word, POS,
// chunk, tag; any layout of at least two columns, the same on every line), blank lines between
// sentences, and -DOCSTART- lines skipped. A line whose column count differs from the first's,
// or whose tag is -100 (transformers' ignore index, not a tag), is an error naming the file and
// line ("dataset: malformed CoNLL file: ner.txt:7: …"), wrapping ErrMalformed. The file is read as a stream within MaxLineBytes per line and
// MaxFileBytes in all.
func ReadCoNLL(path string) ([]Sentence, error) {
	f, err := openData(path, "a CoNLL file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCoNLL(f, path)
}

// ReadCoNLLDir reads CoNLLTrainFile and CoNLLDevFile from dir.
func ReadCoNLLDir(dir string) (train, dev []Sentence, err error) {
	if train, err = ReadCoNLL(filepath.Join(dir, CoNLLTrainFile)); err != nil {
		return nil, nil, err
	}
	if dev, err = ReadCoNLL(filepath.Join(dir, CoNLLDevFile)); err != nil {
		return nil, nil, err
	}
	return train, dev, nil
}

// ParseCoNLL reads CoNLL lines from r as ReadCoNLL does; name is the file name that errors and
// the sentences' File give.
func ParseCoNLL(r io.Reader, name string) ([]Sentence, error) {
	sentences, perr := parseCoNLL(&lineReader{r: bufio.NewReaderSize(r, 64<<10), limit: fileLimit}, name)
	if perr != nil {
		return nil, perr.in(errMalformedCoNLL, name)
	}
	return sentences, nil
}

func parseCoNLL(lr *lineReader, name string) ([]Sentence, *parseError) {
	var sentences []Sentence
	var cur Sentence
	columns, columnsLine := 0, 0
	flush := func() {
		if len(cur.Words) > 0 {
			sentences = append(sentences, cur)
		}
		cur = Sentence{}
	}
	for {
		line, err := lr.next()
		var perr *parseError
		switch {
		case err == io.EOF:
			flush()
			if len(sentences) == 0 {
				return nil, &parseError{0, "no sentences (want one \"word ... tag\" line per word, blank lines between sentences)"}
			}
			return sentences, nil
		case errors.As(err, &perr):
			return nil, perr
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			flush()
			continue
		case fields[0] == "-DOCSTART-":
			flush()
			continue
		case len(fields) == 1:
			return nil, &parseError{lr.line, fmt.Sprintf("%s is one column, want a word and its tag (CoNLL-2003: word POS chunk tag)", quoteShort(line))}
		case columns == 0:
			columns, columnsLine = len(fields), lr.line
		case len(fields) != columns:
			return nil, &parseError{lr.line, fmt.Sprintf("%d columns, want %d as on line %d", len(fields), columns, columnsLine)}
		}
		tag := fields[len(fields)-1]
		if n, err := strconv.Atoi(tag); err == nil && n == IgnoreTag {
			return nil, &parseError{lr.line, fmt.Sprintf("tag %q is transformers' ignore index, which the reader gives word pieces itself, not a tag", tag)}
		}
		if len(cur.Words) == 0 {
			cur.File, cur.Line = name, lr.line
		}
		cur.Words = append(cur.Words, fields[0])
		cur.Tags = append(cur.Tags, tag)
	}
}

// Tags returns the tags that the sentences use, sorted, as transformers' token-classification
// example (run_ner.py) orders a label list it gathers from the data.
func Tags(sets ...[]Sentence) []string {
	seen := map[string]bool{}
	var tags []string
	for _, set := range sets {
		for _, s := range set {
			for _, t := range s.Tags {
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
				}
			}
		}
	}
	slices.Sort(tags)
	return tags
}
