package hfjson

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/internal/testenv"
)

// fixtureStrings is testdata/strings.json: the inputs of every fixture, written by
// testdata/make_fixtures.py.
type fixtureStrings struct {
	Single    []string    `json:"single"`
	Pairs     [][2]string `json:"pairs"`
	Truncated []struct {
		A      string  `json:"a"`
		B      *string `json:"b"`
		MaxLen int     `json:"max_len"`
	} `json:"truncated"`
}

// fixture is testdata/fixtures-NAME.json: HF's [ids, type_ids] for each input, in order.
type fixture struct {
	Source    string     `json:"source"`
	Versions  string     `json:"versions"`
	Single    [][2][]int `json:"single"`
	Pairs     [][2][]int `json:"pairs"`
	Truncated [][2][]int `json:"truncated"` // empty for the variants
	// Base and Override describe a variant: the tokenizer.json Base with the components of
	// Override in place of its own.
	Base     string                     `json:"base"`
	Override map[string]json.RawMessage `json:"override"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// readTestdata returns a file of testdata, gunzipped if its name ends in .gz.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(name) == ".gz" {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseTestdata(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tok, err := Parse(readTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// encoder is the interface both this package's tokenizers and the ones compared with it offer.
type encoder interface {
	Encode(text string, maxLen int) tokenizer.Encoding
	EncodePair(a, b string, maxLen int) tokenizer.Encoding
}

// mismatches compares enc with HF's encodings of every fixture string and returns a description
// of each difference and the number of comparisons.
func mismatches(t testing.TB, enc encoder, fixtureName string) ([]string, int) {
	t.Helper()
	var in fixtureStrings
	readJSON(t, filepath.Join("testdata", "strings.json"), &in)
	var want fixture
	readJSON(t, filepath.Join("testdata", "fixtures-"+fixtureName+".json"), &want)
	if len(want.Truncated) == 0 {
		in.Truncated = nil
	}
	if len(want.Single) != len(in.Single) || len(want.Pairs) != len(in.Pairs) || len(want.Truncated) != len(in.Truncated) {
		t.Fatalf("fixtures-%s.json does not match strings.json: regenerate both with make_fixtures.py", fixtureName)
	}
	var diffs []string
	check := func(what string, got tokenizer.Encoding, w [2][]int) {
		if !slices.Equal(got.IDs, w[0]) || !slices.Equal(got.TypeIDs, w[1]) {
			diffs = append(diffs, what+"\n   got "+fmtInts(got.IDs, got.TypeIDs)+"\n  want "+fmtInts(w[0], w[1]))
		}
	}
	for i, s := range in.Single {
		check(quote("Encode", s), enc.Encode(s, 0), want.Single[i])
	}
	for i, p := range in.Pairs {
		check(quote("EncodePair", p[0], p[1]), enc.EncodePair(p[0], p[1], 0), want.Pairs[i])
	}
	for i, c := range in.Truncated {
		what := quote("Encode", c.A)
		encode := func(maxLen int) tokenizer.Encoding { return enc.Encode(c.A, maxLen) }
		pair := c.B != nil
		if pair {
			what = quote("EncodePair", c.A, *c.B)
			encode = func(maxLen int) tokenizer.Encoding { return enc.EncodePair(c.A, *c.B, maxLen) }
		}
		what += " max " + itoa(c.MaxLen)
		if ours, ok := enc.(*Tokenizer); ok && c.MaxLen < ours.added(pair) {
			// HF's max_length minus the special tokens wraps around below zero and nothing is
			// cut; here only the special tokens are left (documented on Encode).
			check(what+" (HF: not truncated)", encode(0), want.Truncated[i])
			if got := encode(c.MaxLen); len(got.IDs) != ours.added(pair) {
				diffs = append(diffs, what+": more than the special tokens: "+fmtInts(got.IDs, got.TypeIDs))
			}
			continue
		}
		check(what, encode(c.MaxLen), want.Truncated[i])
	}
	return diffs, len(in.Single) + len(in.Pairs) + len(in.Truncated)
}

// expectExact fails t with the first differences from HF.
func expectExact(t *testing.T, enc encoder, fixtureName string) {
	t.Helper()
	diffs, n := mismatches(t, enc, fixtureName)
	for i, d := range diffs {
		if i == 8 {
			t.Errorf("… and %d more", len(diffs)-i)
			break
		}
		t.Error(d)
	}
	if len(diffs) == 0 {
		t.Logf("%d encodings equal to HF's", n)
	}
}

// TestHFTokenizerJSON compares with the real `tokenizers` on the fixture strings, for a
// tokenizer.json of each model type.
func TestHFTokenizerJSON(t *testing.T) {
	for _, c := range []struct{ name, file string }{
		{"wordpiece-cased", "wordpiece-cased.json"},
		{"bpe-bytelevel", "bpe-bytelevel.json.gz"},
		{"unigram-metaspace", "unigram-metaspace.json.gz"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectExact(t, parseTestdata(t, c.file), c.name)
		})
	}
}

// TestHFMiniLM compares with the real `tokenizers` on all-MiniLM-L6-v2's own tokenizer.json
// (BERT uncased), which is read from the model cache.
func TestHFMiniLM(t *testing.T) {
	dir := testenv.Model(t, "all-MiniLM-L6-v2")
	tok, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	expectExact(t, tok, "minilm")
}

// TestHFSentencePiece compares with transformers' DebertaV2Tokenizer built from a SentencePiece
// Unigram model laid out like DeBERTa-v3's, with its defaults and with lower-casing and the
// punctuation split.
func TestHFSentencePiece(t *testing.T) {
	for _, c := range []struct {
		name string
		opts SentencePieceOptions
	}{
		{"spm", SentencePieceOptions{}},
		{"spm-lower-punct", SentencePieceOptions{DoLowerCase: true, SplitByPunct: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := ParseSentencePiece(readTestdata(t, "spm.model.gz"), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			expectExact(t, tok, c.name)
		})
	}
}

// TestHFVariants compares with the real `tokenizers` on the test tokenizers with other
// normalizers, pre-tokenizers and post-processors in place of their own (make_fixtures.py's
// VARIANTS): NFD/NFKC/NFKD, StripAccents, Strip, Replace, Prepend; WhitespaceSplit, Whitespace,
// Punctuation and Split with every behaviour and inverted; ByteLevel with a prefix space and
// without its regex; Metaspace with the "first" and "never" schemes and without splitting;
// TemplateProcessing, BertProcessing, no post-processor and a Sequence; added tokens with
// single_word, lstrip, rstrip and normalized, and the ids HF gives them.
func TestHFVariants(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "fixtures-variant-*.json"))
	if err != nil || len(paths) < 8 {
		t.Fatalf("variant fixtures: %v, %d files", err, len(paths))
	}
	for _, path := range paths {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "fixtures-"), ".json")
		t.Run(name, func(t *testing.T) {
			var f fixture
			readJSON(t, path, &f)
			var file map[string]json.RawMessage
			if err := json.Unmarshal(readTestdata(t, f.Base), &file); err != nil {
				t.Fatal(err)
			}
			maps.Copy(file, f.Override)
			data, err := json.Marshal(file)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			expectExact(t, tok, name)
		})
	}
}
