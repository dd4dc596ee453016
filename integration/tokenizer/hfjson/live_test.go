package hfjson

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/internal/testenv"
)

// randomText draws a string from pieces that stress tokenizers: words, accents, marks, CJK,
// emoji and joiners, every kind of white space, controls, punctuation and special tokens.
func randomText(rng *rand.Rand) string {
	parts := []string{
		"the", "film", "It's", "don't", "ROBERTA", "naïve", "Ångström", "e\u0301", "İ", "ß", "ﬁ", "Σ",
		"中", "文字", "カタ", "한", "😀", "👍🏽", "👨\u200d👩", "\u200b", "\u200c", "\u00ad", "\ufeff",
		" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\x00", "\x1b", "\u0085",
		",", ".", "!", "'", "'s", "-", "@", "½", "²", "①", "１２", "３.１４", "$5", "#tag",
		"[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<mask>", "<unk>", "▁", "Ġ",
		"supercalifragilistic", "xyzzyq", strings.Repeat("a", 120),
	}
	var b strings.Builder
	for n := rng.IntN(12); n >= 0; n-- {
		b.WriteString(parts[rng.IntN(len(parts))])
		if rng.IntN(3) == 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// TestLiveRandomStrings encodes random strings with the real `tokenizers` and transformers and
// compares (live check: needs SPAGO_PEFT_VENV).
func TestLiveRandomStrings(t *testing.T) {
	python := testenv.Python(t)
	rng := rand.New(rand.NewPCG(14, 2026))
	type input struct {
		A      string  `json:"a"`
		B      *string `json:"b"`
		MaxLen int     `json:"max_len"`
	}
	var cases [][3]any
	var inputs []input
	for range 1000 {
		in := input{A: randomText(rng)}
		if rng.IntN(2) == 0 {
			b := randomText(rng)
			in.B = &b
		}
		if rng.IntN(3) == 0 {
			in.MaxLen = 5 + rng.IntN(20)
		}
		inputs = append(inputs, in)
		cases = append(cases, [3]any{in.A, in.B, in.MaxLen})
	}
	dir := t.TempDir()
	inPath := filepath.Join(dir, "in.json")
	data, err := json.Marshal(map[string]any{"pairs": cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Each case gives the tokenizer and the path of its file (or directory) for live_encode.py.
	fromTestdata := func(name string) func(*testing.T) (*Tokenizer, string) {
		return func(t *testing.T) (*Tokenizer, string) {
			path := filepath.Join(dir, strings.TrimSuffix(name, ".gz"))
			if err := os.WriteFile(path, readTestdata(t, name), 0o644); err != nil {
				t.Fatal(err)
			}
			return parseTestdata(t, name), path
		}
	}
	fromSPM := func(opts SentencePieceOptions) func(*testing.T) (*Tokenizer, string) {
		return func(t *testing.T) (*Tokenizer, string) {
			spmDir := filepath.Join(dir, "spm")
			data := readTestdata(t, "spm.model.gz")
			if err := os.MkdirAll(spmDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(spmDir, "spm.model"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := ParseSentencePiece(data, opts)
			if err != nil {
				t.Fatal(err)
			}
			return tok, spmDir
		}
	}
	for _, c := range []struct {
		name, kind string
		load       func(*testing.T) (*Tokenizer, string)
	}{
		{"wordpiece-cased", "json", fromTestdata("wordpiece-cased.json")},
		{"bpe-bytelevel", "json", fromTestdata("bpe-bytelevel.json.gz")},
		{"unigram-metaspace", "json", fromTestdata("unigram-metaspace.json.gz")},
		{"minilm", "json", func(t *testing.T) (*Tokenizer, string) {
			path := filepath.Join(testenv.Model(t, "all-MiniLM-L6-v2"), "tokenizer.json")
			tok, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			return tok, path
		}},
		{"spm", "spm", fromSPM(SentencePieceOptions{})},
		{"spm-lower-punct", `spm:{"do_lower_case": true, "split_by_punct": true}`,
			fromSPM(SentencePieceOptions{DoLowerCase: true, SplitByPunct: true})},
		{"spm-no-prefix-space", `spm:{"add_prefix_space": false}`, fromSPM(SentencePieceOptions{NoPrefixSpace: true})},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, path := c.load(t)
			outPath := filepath.Join(dir, c.name+".out.json")
			cmd := exec.Command(python, filepath.Join("testdata", "live_encode.py"), c.kind, path, inPath, outPath)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var want [][2][]int
			readJSON(t, outPath, &want)
			bad := 0
			for i, in := range inputs {
				var got tokenizer.Encoding
				if in.B == nil {
					got = tok.Encode(in.A, in.MaxLen)
				} else {
					got = tok.EncodePair(in.A, *in.B, in.MaxLen)
				}
				if !slices.Equal(got.IDs, want[i][0]) || !slices.Equal(got.TypeIDs, want[i][1]) {
					if bad++; bad <= 5 {
						t.Errorf("%q / %v max %d\n   got %v %v\n  want %v %v", in.A, in.B, in.MaxLen, got.IDs, got.TypeIDs, want[i][0], want[i][1])
					}
				}
			}
			t.Logf("%d of %d random inputs equal to HF", len(inputs)-bad, len(inputs))
		})
	}
}
