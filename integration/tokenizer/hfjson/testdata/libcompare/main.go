// Command libcompare measures how often the Go tokenizer libraries named in issue 14 give the
// same ids and type ids as Hugging Face on the fixtures of ../ (strings.json, fixtures-*.json):
// github.com/sugarme/tokenizer on the tokenizer.json files and github.com/eliben/go-sentencepiece
// on spm.model. It is a module of its own so that neither library becomes a dependency of
// spago-peft. Run it from this directory:
//
//	go run .
//
// The numbers are in ../../README.md.
package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	sentencepiece "github.com/eliben/go-sentencepiece"
	sugar "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

type inputs struct {
	Single    []string    `json:"single"`
	Pairs     [][2]string `json:"pairs"`
	Truncated []struct {
		A      string  `json:"a"`
		B      *string `json:"b"`
		MaxLen int     `json:"max_len"`
	} `json:"truncated"`
}

type fixture struct {
	Single, Pairs, Truncated [][2][]int
}

func readJSON(path string, v any) {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		panic(err)
	}
}

// plainFile returns a path to the uncompressed file.
func plainFile(path string) string {
	if filepath.Ext(path) != ".gz" {
		return path
	}
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		panic(err)
	}
	out, err := os.CreateTemp("", "libcompare-*"+filepath.Ext(path[:len(path)-3]))
	if err != nil {
		panic(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, gz); err != nil {
		panic(err)
	}
	return out.Name()
}

// encodeFunc returns ids and type ids, or an error (panics are caught and reported as errors).
type encodeFunc func(a string, b *string, maxLen int) ([]int, []int, error)

type score struct {
	equal, differ, failed int
	first                 string // the first difference
}

func (s score) String() string {
	n := s.equal + s.differ + s.failed
	return fmt.Sprintf("%d/%d equal (%.1f%%), %d differ, %d errors or panics\n    first difference: %s", s.equal, n, 100*float64(s.equal)/float64(n), s.differ, s.failed, s.first)
}

func compare(in inputs, want fixture, enc encodeFunc) (single, pairs, trunc score) {
	run := func(sc *score, a string, b *string, maxLen int, w [2][]int) {
		ids, types, err := func() (ids, types []int, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return enc(a, b, maxLen)
		}()
		switch {
		case err != nil:
			sc.failed++
			if sc.first == "" {
				sc.first = fmt.Sprintf("%q %v: %v", a, b, err)
			}
		case slices.Equal(ids, w[0]) && slices.Equal(types, w[1]):
			sc.equal++
		default:
			sc.differ++
			if sc.first == "" {
				second := "-"
				if b != nil {
					second = *b
				}
				sc.first = fmt.Sprintf("%q %q max %d: got %v %v, want %v %v", a, second, maxLen, ids, types, w[0], w[1])
			}
		}
	}
	for i, s := range in.Single {
		run(&single, s, nil, 0, want.Single[i])
	}
	for i, p := range in.Pairs {
		run(&pairs, p[0], &p[1], 0, want.Pairs[i])
	}
	for i, c := range in.Truncated {
		run(&trunc, c.A, c.B, c.MaxLen, want.Truncated[i])
	}
	return
}

func sugarEncoder(path string) encodeFunc {
	tk, err := pretrained.FromFile(path)
	if err != nil {
		return func(string, *string, int) ([]int, []int, error) { return nil, nil, err }
	}
	tk.WithPadding(nil)
	fileTrunc := tk.GetTruncation()
	return func(a string, b *string, maxLen int) ([]int, []int, error) {
		tk.WithTruncation(fileTrunc)
		if maxLen > 0 {
			tk.WithTruncation(&sugar.TruncationParams{MaxLength: maxLen, Strategy: sugar.LongestFirst})
		}
		var e *sugar.Encoding
		var err error
		if b == nil {
			e, err = tk.EncodeSingle(a, true)
		} else {
			e, err = tk.EncodePair(a, *b, true)
		}
		if err != nil {
			return nil, nil, err
		}
		return e.Ids, e.TypeIds, nil
	}
}

func main() {
	var in inputs
	readJSON("../strings.json", &in)
	models := os.Getenv("SPAGO_PEFT_MODELS")
	if models == "" {
		home, _ := os.UserHomeDir()
		models = filepath.Join(home, ".cache", "spago-peft", "models")
	}
	for _, c := range []struct{ name, file string }{
		{"wordpiece-cased", "../wordpiece-cased.json"},
		{"minilm", filepath.Join(models, "all-MiniLM-L6-v2", "tokenizer.json")},
		{"bpe-bytelevel", "../bpe-bytelevel.json.gz"},
		{"unigram-metaspace", "../unigram-metaspace.json.gz"},
	} {
		var want fixture
		readJSON("../fixtures-"+c.name+".json", &want)
		if _, err := os.Stat(c.file); err != nil {
			fmt.Printf("sugarme/tokenizer %s: skipped (%v)\n", c.name, err)
			continue
		}
		s, p, tr := compare(in, want, sugarEncoder(plainFile(c.file)))
		fmt.Printf("sugarme/tokenizer %s\n  single:    %v\n  pairs:     %v\n  truncated: %v\n", c.name, s, p, tr)
	}
	_, err := sentencepiece.NewProcessorFromPath(plainFile("../spm.model.gz"))
	fmt.Printf("eliben/go-sentencepiece spm.model: %v\n", err)
}
