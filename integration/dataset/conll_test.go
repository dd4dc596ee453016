package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseCoNLL(t *testing.T) {
	const conll = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER\n"
	got, err := ParseCoNLL(strings.NewReader(conll), "ner.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Sentence{
		{Words: []string{"EU", "rejects"}, Tags: []string{"B-ORG", "O"}, File: "ner.txt", Line: 3},
		{Words: []string{"Peter", "Blackburn"}, Tags: []string{"B-PER", "I-PER"}, File: "ner.txt", Line: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if tags := Tags(got); !reflect.DeepEqual(tags, []string{"B-ORG", "B-PER", "I-PER", "O"}) {
		t.Errorf("Tags = %v", tags)
	}
	two, err := ParseCoNLL(strings.NewReader("Paris\tB-LOC\nis\tO"), "two.tsv")
	if err != nil || len(two) != 1 || two[0].Tags[0] != "B-LOC" {
		t.Errorf("word<TAB>tag: %+v, %v", two, err)
	}
}

func TestParseCoNLLErrors(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"one column", "EU NNP B-NP B-ORG\nrejects\n", `ner.txt:2: "rejects" is one column, want a word and its tag`},
		{"ragged columns", "EU NNP B-NP B-ORG\nrejects VBZ O\n", "ner.txt:2: 3 columns, want 4 as on line 1"},
		{"ignore index as a tag", "EU B-ORG\nrejects -100\n", `ner.txt:2: tag "-100" is transformers' ignore index`},
		{"empty", "\n\n-DOCSTART- -X- O O\n", "ner.txt: no sentences"},
		{"a TSV file", "sentence\tlabel\na fine film\t1\n", "ner.txt:2: 4 columns, want 2 as on line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCoNLL(strings.NewReader(tt.content), "ner.txt")
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "dataset: malformed CoNLL file: "+tt.want) {
				t.Fatalf("error %v, want ErrMalformed with %q", err, tt.want)
			}
		})
	}
	if _, err := ReadCoNLL(filepath.Join(t.TempDir(), "none.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseCoNLL checks that no input panics, and that every sentence read has as many tags as
// words, none of them blank or -100.
func FuzzParseCoNLL(f *testing.F) {
	for _, s := range []string{
		"-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n",
		"Paris\tB-LOC\nis\tO", "EU B-ORG\nrejects -100\n", "a\n", "", "\n\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sentences, err := ParseCoNLL(strings.NewReader(s), "fuzz.txt")
		if err != nil {
			if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line wrapping ErrMalformed", err)
			}
			return
		}
		for _, sent := range sentences {
			if len(sent.Words) == 0 || len(sent.Words) != len(sent.Tags) || sent.File != "fuzz.txt" || sent.Line < 1 {
				t.Fatalf("bad sentence %+v", sent)
			}
			for i, tag := range sent.Tags {
				if strings.TrimSpace(tag) == "" || tag == "-100" || strings.TrimSpace(sent.Words[i]) == "" {
					t.Fatalf("bad word or tag in %+v", sent)
				}
			}
		}
	})
}

// TestReadCoNLLShared reads the shared copy of CoNLL-2003, when present.
func TestReadCoNLLShared(t *testing.T) {
	dir := "../../../shared/data/conll2003"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no shared CoNLL-2003 at %s", dir)
	}
	train, dev, err := ReadCoNLLDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tags := Tags(train, dev)
	want := []string{"B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O"}
	if !reflect.DeepEqual(tags, want) || len(train) < 1000 || len(dev) < 100 {
		t.Errorf("%d train, %d dev sentences, tags %v", len(train), len(dev), tags)
	}
	t.Logf("%d train, %d dev sentences", len(train), len(dev))
}
