package interop

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata from the live run (needs SPAGO_PEFT_VENV; see regenerate.sh)")

const (
	tinyDir       = "../checkpoint/testdata/tiny-bert"
	sentencesFile = "testdata/sentences.txt"
	// tolerance is the largest difference of logits allowed between Go and the real libraries.
	tolerance = 1e-4
	// moved is the least difference of logits that shows an adapter or a training step did
	// something, so that agreement is not agreement of two untouched models.
	moved = 1e-3
)

// loadReport is what interop.py records of PeftModel.from_pretrained: every warning (with its
// category or logger) and the adapter keys PEFT found missing or unexpected.
type loadReport struct {
	Warnings       []string `json:"warnings"`
	MissingKeys    []string `json:"missing_keys"`
	UnexpectedKeys []string `json:"unexpected_keys"`
}

// mergedReport is what interop.py records of loading a merged export with a transformers class.
type mergedReport struct {
	MissingKeys    []string    `json:"missing_keys"`
	UnexpectedKeys []string    `json:"unexpected_keys"`
	MismatchedKeys []string    `json:"mismatched_keys"`
	Warnings       []string    `json:"warnings"`
	Logits         [][]float64 `json:"logits"`
}

// goToPEFTResults is the output of interop.py go-to-peft.
type goToPEFTResults struct {
	InputIDs      [][]int `json:"input_ids"`
	AttentionMask [][]int `json:"attention_mask"`
	Cases         map[string]struct {
		Load      loadReport              `json:"load"`
		Logits    [][]float64             `json:"logits"`
		Merged    map[string]mergedReport `json:"merged"`
		Continued struct {
			Load   loadReport  `json:"load"`
			Logits [][]float64 `json:"logits"`
		} `json:"continued"`
	} `json:"cases"`
}

// peftToGoExpected is the expected.json interop.py peft-to-go writes: per recipe, PEFT's logits
// of the saved file, or the part of the error Go must fail with.
type peftToGoExpected struct {
	InputIDs      [][]int     `json:"input_ids"`
	AttentionMask [][]int     `json:"attention_mask"`
	BaseLogits    [][]float64 `json:"base_logits"`
	Recipes       map[string]struct {
		Load   *loadReport `json:"load"`
		Logits [][]float64 `json:"logits"`
		Error  string      `json:"error"`
	} `json:"recipes"`
}

// neumann017 names the adapter PEFT 0.17.1 wrote with its Neumann series, and its record.
const (
	neumann017     = "oft-neumann-peft-0.17"
	neumann017Made = "made-by.json"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v), path)
}

func loadCheckpoint(t *testing.T, dir string) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	return ck
}

func readSentences(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(sentencesFile)
	require.NoError(t, err)
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// unpadded turns transformers' padded batch back into sequences, checking that it is padded
// (so that the comparison exercises the attention mask) and that Go's tokenizer gives the same
// ids; a nil tok takes a batch tokenised elsewhere (sentences unused).
func unpadded(t *testing.T, tok tokenizer.Encoder, sentences []string, ids, mask [][]int) bert.Batch {
	t.Helper()
	if tok != nil {
		require.Len(t, ids, len(sentences))
	}
	var b bert.Batch
	padded := false
	for i, row := range ids {
		n := 0
		for _, m := range mask[i] {
			n += m
		}
		padded = padded || n < len(row)
		b.IDs = append(b.IDs, row[:n])
		if tok == nil {
			continue
		}
		assert.Equal(t, row[:n], tok.Encode(sentences[i], len(row)).IDs, "Go's tokenisation of %q", sentences[i])
	}
	require.True(t, padded, "the batch must hold padding")
	return b
}

func logitsOf(t *testing.T, m *bert.Model, b bert.Batch) [][]float64 {
	t.Helper()
	y, err := m.Logits(b)
	require.NoError(t, err)
	flat := y.Value().Data().F64()
	n := len(flat) / len(b.IDs)
	var out [][]float64
	for i := range b.IDs {
		out = append(out, flat[i*n:(i+1)*n])
	}
	return out
}

// maxDiff is the largest absolute difference between two logit matrices of the same shape.
func maxDiff(t *testing.T, a, b [][]float64) float64 {
	t.Helper()
	require.Equal(t, len(a), len(b))
	worst := 0.0
	for i := range a {
		require.Equal(t, len(a[i]), len(b[i]))
		for j := range a[i] {
			worst = max(worst, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return worst
}

func assertClose(t *testing.T, want, got [][]float64, what string) {
	t.Helper()
	d := maxDiff(t, want, got)
	t.Logf("%s: max |Δlogit| %.2g", what, d)
	assert.LessOrEqual(t, d, tolerance, what)
}

// checkLoad fails on missing or unexpected keys and on any warning but a deprecation notice of
// the libraries themselves.
func checkLoad(t *testing.T, r loadReport, what string) {
	t.Helper()
	assert.Empty(t, r.MissingKeys, "%s: missing adapter keys", what)
	assert.Empty(t, r.UnexpectedKeys, "%s: unexpected adapter keys", what)
	assert.Empty(t, significant(r.Warnings), "%s: warnings while loading", what)
}

// expectedWarnings are the warnings PEFT gives about its own recipe, by recipe.
var expectedWarnings = map[string]string{
	"oft-block-size-adjusted": "Invalid `oft_block_size` (6)! Adjusted `oft_block_size` to (4).",
}

// significant drops the deprecation notices transformers gives PEFT's own calls (such as
// "is_gradient_checkpointing is deprecated"): they say nothing about the file.
func significant(warnings []string) []string {
	return slices.DeleteFunc(slices.Clone(warnings), func(w string) bool {
		return strings.HasPrefix(w, "FutureWarning: ") || strings.HasPrefix(w, "DeprecationWarning: ")
	})
}

// checkGoToPEFT checks the record of interop.py go-to-peft against the adapters in casesDir:
// Go's logits of each Go-written adapter are PEFT's, the merged export loads cleanly in
// transformers with the same logits, and the adapter PEFT saved after training further gives
// PEFT's logits in Go.
func checkGoToPEFT(t *testing.T, ck *checkpoint.Checkpoint, tok tokenizer.Encoder, casesDir string, res goToPEFTResults) {
	batch := unpadded(t, tok, readSentences(t), res.InputIDs, res.AttentionMask)
	require.NotEmpty(t, res.Cases)
	for name, c := range res.Cases {
		t.Run(name, func(t *testing.T) {
			m, err := bert.LoadAdapter(ck, filepath.Join(casesDir, name, "adapter"))
			require.NoError(t, err)
			checkLoad(t, c.Load, "PeftModel.from_pretrained of the Go adapter")
			goLogits := logitsOf(t, m, batch)
			assertClose(t, c.Logits, goLogits, "PEFT vs Go")

			merged := exportedLogits(t, m, batch)
			require.Len(t, c.Merged, 2)
			for class, r := range c.Merged {
				assert.Empty(t, r.MissingKeys, "%s: missing keys", class)
				assert.Empty(t, r.UnexpectedKeys, "%s: unexpected keys", class)
				assert.Empty(t, r.MismatchedKeys, "%s: mismatched keys", class)
				assert.Empty(t, significant(r.Warnings), "%s: warnings", class)
				assertClose(t, r.Logits, merged, class+" of the merged export vs Go")
			}

			back, err := bert.LoadAdapter(ck, filepath.Join(casesDir, name, "peft"))
			require.NoError(t, err)
			checkLoad(t, c.Continued.Load, "PeftModel.from_pretrained of the adapter PEFT saved")
			assertClose(t, c.Continued.Logits, logitsOf(t, back, batch), "PEFT-trained adapter, PEFT vs Go")
			assert.Greater(t, maxDiff(t, c.Logits, c.Continued.Logits), moved, "training in PEFT moved the logits")
		})
	}
}

// exportedLogits exports m merged, reloads the export as a plain model and returns its logits.
func exportedLogits(t *testing.T, m *bert.Model, b bert.Batch) [][]float64 {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, m.ExportMerged(dir))
	plain, err := bert.New(loadCheckpoint(t, dir), bert.Options{})
	require.NoError(t, err)
	return logitsOf(t, plain, b)
}

// checkPEFTToGo loads every adapter PEFT saved in dir, expecting PEFT's logits or the recorded
// error, and refuses the Neumann adapter of PEFT 0.17 by its version.
func checkPEFTToGo(t *testing.T, ck *checkpoint.Checkpoint, tok tokenizer.Encoder, dir string, exp peftToGoExpected) {
	batch := unpadded(t, tok, readSentences(t), exp.InputIDs, exp.AttentionMask)
	require.NotEmpty(t, exp.Recipes)
	for name, r := range exp.Recipes {
		t.Run(name, func(t *testing.T) {
			m, err := bert.LoadAdapter(ck, filepath.Join(dir, name))
			if r.Error != "" {
				require.Error(t, err)
				assert.True(t, errors.Is(err, peft.ErrUnsupported) || errors.Is(err, peft.ErrInvalidConfig) || errors.Is(err, bert.ErrNoHead), "%v", err)
				assert.Contains(t, err.Error(), r.Error)
				t.Logf("refused: %v", err)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, r.Load)
			load := *r.Load
			if w, ok := expectedWarnings[name]; ok {
				load.Warnings = slices.DeleteFunc(slices.Clone(load.Warnings), func(s string) bool { return strings.Contains(s, w) })
			}
			checkLoad(t, load, "PeftModel.from_pretrained of PEFT's own file")
			assertClose(t, r.Logits, logitsOf(t, m, batch), "PEFT vs Go")
			assert.Greater(t, maxDiff(t, exp.BaseLogits, r.Logits), moved, "the adapter changes the logits")
		})
	}
	t.Run(neumann017, func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, neumann017)); err != nil {
			t.Skipf("no adapter of PEFT 0.17 for this checkpoint (set %s to make one)", PEFT017Var)
		}
		checkNeumann017(t, ck, batch, filepath.Join(dir, neumann017))
	})
}

// checkNeumann017 checks that the Neumann OFT file of PEFT 0.17 is refused, and why: read with
// the series of PEFT ≥ 0.18 its weights give other logits than PEFT 0.17's.
func checkNeumann017(t *testing.T, ck *checkpoint.Checkpoint, b bert.Batch, dir string) {
	_, err := bert.LoadAdapter(ck, dir)
	require.ErrorIs(t, err, peft.ErrUnsupported)
	assert.Contains(t, err.Error(), "PEFT 0.18 changed the Neumann series")
	var made struct {
		PEFT   string      `json:"peft"`
		Logits [][]float64 `json:"logits"`
	}
	readJSON(t, filepath.Join(dir, neumann017Made), &made)
	require.True(t, strings.HasPrefix(made.PEFT, "0.17"), made.PEFT)

	relabelled := t.TempDir()
	for _, name := range []string{peft.AdapterWeightsFile, peft.AdapterConfigFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		if name == peft.AdapterConfigFile {
			var c map[string]any
			require.NoError(t, json.Unmarshal(data, &c))
			c["peft_version"] = peft.PEFTVersion
			data, err = json.Marshal(c)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(filepath.Join(relabelled, name), data, 0o644))
	}
	m, err := bert.LoadAdapter(ck, relabelled)
	require.NoError(t, err)
	d := maxDiff(t, made.Logits, logitsOf(t, m, b))
	t.Logf("read with PEFT 0.18's series, PEFT 0.17's Neumann adapter moves the logits by %.2g", d)
	assert.Greater(t, d, moved, "the two series differ on these weights")
}

func tinyTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.FromDir(tinyDir)
	require.NoError(t, err)
	return tok
}

// TestGoToPEFTFixtures checks the committed record of PEFT and transformers reading the
// adapters and merged exports Go wrote (testdata/go-to-peft).
func TestGoToPEFTFixtures(t *testing.T) {
	checkGoToPEFTFixtures(t, loadCheckpoint(t, tinyDir), tinyTokenizer(t), "testdata", goCases)
}

// checkGoToPEFTFixtures checks the record dir/go-to-peft.json of the cases in dir/go-to-peft.
func checkGoToPEFTFixtures(t *testing.T, ck *checkpoint.Checkpoint, tok tokenizer.Encoder, dir string, cases []goCase) {
	var res goToPEFTResults
	readJSON(t, filepath.Join(dir, "go-to-peft.json"), &res)
	for _, c := range cases {
		_, ok := res.Cases[c.name]
		require.True(t, ok, "no record of %s: run regenerate.sh", c.name)
	}
	checkGoToPEFT(t, ck, tok, filepath.Join(dir, "go-to-peft"), res)
}

// TestGoAdapterFilesUnchanged checks that SaveAdapter still writes, byte for byte, the files
// that PEFT was shown to load: each committed Go adapter, loaded and saved again.
func TestGoAdapterFilesUnchanged(t *testing.T) {
	checkAdapterFilesUnchanged(t, loadCheckpoint(t, tinyDir), "testdata/go-to-peft", goCases)
}

// checkAdapterFilesUnchanged loads and saves again the adapter of every case under dir.
func checkAdapterFilesUnchanged(t *testing.T, ck *checkpoint.Checkpoint, dir string, cases []goCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(dir, c.name, "adapter")
			m, err := bert.LoadAdapter(ck, dir)
			require.NoError(t, err)
			_, _, meta, err := peft.LoadAdapterConfig(dir)
			require.NoError(t, err)
			again := t.TempDir()
			require.NoError(t, m.SaveAdapter(again, meta))
			for _, name := range []string{peft.AdapterConfigFile, peft.AdapterWeightsFile} {
				want, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(again, name))
				require.NoError(t, err)
				assert.Equal(t, want, got, name)
			}
		})
	}
}

// TestPEFTToGoFixtures checks the committed adapters PEFT made (testdata/peft-to-go).
func TestPEFTToGoFixtures(t *testing.T) {
	var exp peftToGoExpected
	readJSON(t, "testdata/peft-to-go/expected.json", &exp)
	checkPEFTToGo(t, loadCheckpoint(t, tinyDir), tinyTokenizer(t), "testdata/peft-to-go", exp)
}
