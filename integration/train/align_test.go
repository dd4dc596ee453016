package train_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/tokenizer/hfjson"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodeTokensMatchesTransformers checks the alignment of word labels to word pieces against
// transformers' token-classification example on the same tokenizer.json files (testdata/align.json,
// written by testdata/make_align_fixtures.py: BERT's WordPiece, RoBERTa's byte-level BPE with
// add_prefix_space as run_ner loads it, XLM-R's Unigram): the ids, and each word's label on its
// first piece with -100 elsewhere, with and without truncation.
func TestEncodeTokensMatchesTransformers(t *testing.T) {
	raw, err := os.ReadFile("testdata/align.json")
	require.NoError(t, err)
	var f struct {
		Cases []struct {
			Tokenizer string
			Words     []string
			Labels    []int
			MaxLen    int   `json:"max_len"`
			InputIDs  []int `json:"input_ids"`
			Aligned   []int
		}
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NotEmpty(t, f.Cases)
	toks := map[string]*hfjson.Tokenizer{}
	tagNames := []string{"t0", "t1", "t2", "t3", "t4"}
	for _, c := range f.Cases {
		tok := toks[c.Tokenizer]
		if tok == nil {
			tok = loadTestTokenizer(t, c.Tokenizer)
			toks[c.Tokenizer] = tok
		}
		t.Run(fmt.Sprintf("%s %d %s", c.Tokenizer, c.MaxLen, strings.Join(c.Words[:min(3, len(c.Words))], " ")), func(t *testing.T) {
			tags := make([]string, len(c.Labels))
			for i, l := range c.Labels {
				tags[i] = tagNames[l]
			}
			got, err := train.EncodeTokens(tok, []dataset.Sentence{{Words: c.Words, Tags: tags}}, tagNames, c.MaxLen)
			require.NoError(t, err)
			assert.Equal(t, c.InputIDs, got[0].IDs)
			assert.Equal(t, c.Aligned, got[0].Tags)
		})
	}
	tok := toks["wordpiece-cased.json"]
	_, err = train.EncodeTokens(tok, []dataset.Sentence{{Words: []string{"a"}, Tags: []string{"B-X"}, File: "ner.txt", Line: 4}}, tagNames, 0)
	assert.ErrorIs(t, err, dataset.ErrLabelRange)
	assert.Contains(t, err.Error(), `ner.txt:4: tag "B-X" is not one of the 5 tags`)
}

// loadTestTokenizer loads a tokenizer.json of hfjson's testdata, gunzipped if its name ends in .gz.
func loadTestTokenizer(t *testing.T, name string) *hfjson.Tokenizer {
	t.Helper()
	f, err := os.Open(filepath.Join("../tokenizer/hfjson/testdata", name))
	require.NoError(t, err)
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(f)
		require.NoError(t, err)
		r = gz
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	tok, err := hfjson.Parse(data)
	require.NoError(t, err)
	return tok
}

// charEncoder encodes each character of a text but spaces as its code point, without special
// tokens.
type charEncoder struct{}

func (charEncoder) Encode(text string, _ int) tokenizer.Encoding {
	var e tokenizer.Encoding
	for _, r := range text {
		if r != ' ' {
			e.IDs, e.TypeIDs = append(e.IDs, int(r)), append(e.TypeIDs, 0)
		}
	}
	return e
}

func (c charEncoder) EncodePair(a, b string, maxLen int) tokenizer.Encoding {
	return c.Encode(a+b, maxLen)
}

// TestEncodeWordsWithoutSpecials checks a tokenizer that adds no special tokens.
func TestEncodeWordsWithoutSpecials(t *testing.T) {
	ids, starts := train.EncodeWords(charEncoder{}, []string{"ab", "", "c"}, 0)
	assert.Equal(t, []int{'a', 'b', 'c'}, ids)
	assert.Equal(t, []int{0, -1, 2}, starts)
	ids, starts = train.EncodeWords(charEncoder{}, []string{"ab", "", "c"}, 2)
	assert.Equal(t, []int{'a', 'b'}, ids)
	assert.Equal(t, []int{0, -1, -1}, starts)
}
