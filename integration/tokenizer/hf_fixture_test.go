package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// hfFixtures is testdata/hf_tokenizations.json, written by testdata/make_fixtures.mjs with Hugging
// Face's tokenizers library over bert-base-uncased.
type hfFixtures struct {
	Source string `json:"source"`
	Cases  []struct {
		Name    string `json:"name"`
		Options struct {
			Lowercase    bool  `json:"lowercase"`
			StripAccents *bool `json:"stripAccents"`
			ChineseChars *bool `json:"chineseChars"`
		} `json:"options"`
		Text   string   `json:"text"`
		Tokens []string `json:"tokens"`
		IDs    []int    `json:"ids"`
	} `json:"cases"`
	Encodings []struct {
		Text    string   `json:"text"`
		MaxLen  int      `json:"max_len"`
		Tokens  []string `json:"tokens"`
		IDs     []int    `json:"ids"`
		TypeIDs []int    `json:"type_ids"`
	} `json:"encodings"`
	Pairs []struct {
		A       string   `json:"a"`
		B       string   `json:"b"`
		MaxLen  int      `json:"max_len"`
		Tokens  []string `json:"tokens"`
		IDs     []int    `json:"ids"`
		TypeIDs []int    `json:"type_ids"`
	} `json:"pairs"`
	SST2Dev []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"sst2_dev"`
}

func loadHFFixtures(t *testing.T) hfFixtures {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hf_tokenizations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f hfFixtures
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 || len(f.Encodings) == 0 || len(f.Pairs) == 0 || len(f.SST2Dev) == 0 {
		t.Fatal("hf_tokenizations.json has an empty section")
	}
	return f
}

// TestHFFixtures compares with Hugging Face's own tokenizer on tricky strings.
func TestHFFixtures(t *testing.T) {
	f := loadHFFixtures(t)
	uncased := bertUncased(t, Options{DoLowerCase: true})
	t.Logf("reference: %s", f.Source)

	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tok := bertUncased(t, Options{
				DoLowerCase:          c.Options.Lowercase,
				StripAccents:         c.Options.StripAccents,
				TokenizeChineseChars: c.Options.ChineseChars,
			})
			got := tok.Tokenize(c.Text)
			if !slices.Equal(got, c.Tokens) {
				t.Fatalf("Tokenize(%q)\n got %q\nwant %q", c.Text, got, c.Tokens)
			}
			e := tok.Encode(c.Text, 0)
			if ids := e.IDs[1 : len(e.IDs)-1]; !slices.Equal(ids, c.IDs) {
				t.Fatalf("Encode(%q) ids\n got %v\nwant %v", c.Text, ids, c.IDs)
			}
		})
	}
	for _, c := range f.Encodings {
		e := uncased.Encode(c.Text, c.MaxLen)
		if !slices.Equal(e.Tokens, c.Tokens) || !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.TypeIDs, c.TypeIDs) {
			t.Errorf("Encode(%q, %d)\n got %q %v %v\nwant %q %v %v", c.Text, c.MaxLen, e.Tokens, e.IDs, e.TypeIDs, c.Tokens, c.IDs, c.TypeIDs)
		}
	}
	for _, c := range f.Pairs {
		e := uncased.EncodePair(c.A, c.B, c.MaxLen)
		if !slices.Equal(e.Tokens, c.Tokens) || !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.TypeIDs, c.TypeIDs) {
			t.Errorf("EncodePair(%q, %q, %d)\n got %q %v %v\nwant %q %v %v", c.A, c.B, c.MaxLen, e.Tokens, e.IDs, e.TypeIDs, c.Tokens, c.IDs, c.TypeIDs)
		}
	}
	mismatches := 0
	for _, c := range f.SST2Dev {
		e := uncased.Encode(c.Text, 0)
		if ids := e.IDs[1 : len(e.IDs)-1]; !slices.Equal(ids, c.IDs) {
			if mismatches++; mismatches <= 5 {
				t.Errorf("SST-2 dev %q\n got %v\nwant %v", c.Text, ids, c.IDs)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d SST-2 dev sentences differ", mismatches, len(f.SST2Dev))
	}
}

// TestExpectedJSON checks the tokens and ids that a real HF BertTokenizer produced for the
// shared tiny checkpoint's reference sentences.
func TestExpectedJSON(t *testing.T) {
	path := filepath.Join(sharedModelDir, "expected.json")
	requireFile(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Cases []struct {
			Text     string   `json:"text"`
			Tokens   []string `json:"tokens"`
			InputIDs []int    `json:"input_ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected.Cases) == 0 {
		t.Fatal("expected.json has no cases")
	}
	tok, err := FromDir(sharedModelDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range expected.Cases {
		e := tok.Encode(c.Text, tok.MaxLen())
		if !slices.Equal(e.Tokens, c.Tokens) || !slices.Equal(e.IDs, c.InputIDs) {
			t.Errorf("Encode(%q)\n got %q %v\nwant %q %v", c.Text, e.Tokens, e.IDs, c.Tokens, c.InputIDs)
		}
	}
}
