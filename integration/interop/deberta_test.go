package interop

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/require"
)

// DeBERTa-v2 (the tiny random DeBERTa-v3-style checkpoint of integration/bert/testdata) goes
// through the same checks as BERT, on a batch tokenised by transformers' DebertaV2Tokenizer
// (Go's tokenisation of it is checked in package bert).
const (
	tinyDebertaDir   = "../bert/testdata/tiny-deberta-v3"
	debertaBatchFile = "testdata/deberta/batch.json"
	debertaFixtures  = "testdata/deberta"
)

// debertaGoCases are the adapters trained in Go on DeBERTa and given to PEFT: PEFT's default
// targets for deberta-v2 (query_proj, value_proj), the key projection that the disentangled
// attention also applies to the relative embeddings, the pooler through "dense", all-linear.
var debertaGoCases = []struct {
	name string
	opts bert.Options
}{
	{"hra-default-targets", bert.Options{Adapter: hra.Config{R: 4}}},
	{"lora-qkv-dense-pooler", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: peft.Targets{Modules: []string{"query_proj", "key_proj", "value_proj", "dense"}}}},
	{"oft-exact-all-linear", bert.Options{Adapter: oft.Config{BlockSize: 8}, Targets: peft.Targets{Pattern: peft.AllLinear}}},
	{"oft-neumann-default-targets", bert.Options{Adapter: oft.Config{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}}},
}

// debertaBatch reads the padded batch both sides compute logits on.
func debertaBatch(t *testing.T) (ids, mask [][]int) {
	t.Helper()
	var b struct {
		InputIDs      [][]int `json:"input_ids"`
		AttentionMask [][]int `json:"attention_mask"`
	}
	readJSON(t, debertaBatchFile, &b)
	return b.InputIDs, b.AttentionMask
}

// TestDebertaGoToPEFTFixtures checks the committed record of PEFT and transformers reading the
// DeBERTa adapters and merged exports Go wrote (testdata/deberta/go-to-peft).
func TestDebertaGoToPEFTFixtures(t *testing.T) {
	var res goToPEFTResults
	readJSON(t, filepath.Join(debertaFixtures, "go-to-peft.json"), &res)
	for _, c := range debertaGoCases {
		_, ok := res.Cases[c.name]
		require.True(t, ok, "no record of %s: run regenerate.sh", c.name)
	}
	checkGoToPEFT(t, loadCheckpoint(t, tinyDebertaDir), nil, filepath.Join(debertaFixtures, "go-to-peft"), res)
}

// TestDebertaPEFTToGoFixtures checks the committed DeBERTa adapters PEFT made
// (testdata/deberta/peft-to-go).
func TestDebertaPEFTToGoFixtures(t *testing.T) {
	var exp peftToGoExpected
	readJSON(t, filepath.Join(debertaFixtures, "peft-to-go", "expected.json"), &exp)
	checkPEFTToGo(t, loadCheckpoint(t, tinyDebertaDir), nil, filepath.Join(debertaFixtures, "peft-to-go"), exp)
}

// TestLiveTinyDeberta runs both directions against the real libraries on the tiny DeBERTa; with
// -update it rewrites testdata/deberta from the run.
func TestLiveTinyDeberta(t *testing.T) {
	py := testenv.Python(t)
	ck := loadCheckpoint(t, tinyDebertaDir)
	ids, mask := debertaBatch(t)
	batch := unpadded(t, nil, nil, ids, mask)
	goDir := t.TempDir()
	for _, c := range debertaGoCases {
		opts := c.opts
		opts.Seed = 1
		m, err := bert.New(ck, opts)
		require.NoError(t, err)
		var examples []train.Example
		for i, seq := range batch.IDs {
			examples = append(examples, train.Example{IDs: seq, Label: i % m.NumLabels()})
		}
		_, err = train.Fit(context.Background(), m, examples, train.Options{Steps: 6, BatchSize: 4, LR: 0.05, Workers: 1, Seed: 1})
		require.NoError(t, err)
		m.SetTraining(false)
		require.NoError(t, m.SaveAdapter(filepath.Join(goDir, c.name, "adapter"), peft.Meta{BaseModel: filepath.Base(tinyDebertaDir)}))
		require.NoError(t, m.ExportMerged(filepath.Join(goDir, c.name, "merged")))
	}
	out := filepath.Join(goDir, "go-to-peft.json")
	runScript(t, py, "deberta.py", nil, "go-to-peft", tinyDebertaDir, debertaBatchFile, goDir, out)
	var res goToPEFTResults
	readJSON(t, out, &res)
	t.Run("go-to-peft", func(t *testing.T) { checkGoToPEFT(t, ck, nil, goDir, res) })

	peftDir := t.TempDir()
	runScript(t, py, "deberta.py", nil, "peft-to-go", tinyDebertaDir, debertaBatchFile, peftDir)
	var exp peftToGoExpected
	readJSON(t, filepath.Join(peftDir, "expected.json"), &exp)
	t.Run("peft-to-go", func(t *testing.T) { checkPEFTToGo(t, ck, nil, peftDir, exp) })
	if !*update || t.Failed() {
		return
	}
	goFixtures := filepath.Join(debertaFixtures, "go-to-peft")
	require.NoError(t, os.RemoveAll(goFixtures))
	for name := range res.Cases {
		for _, sub := range []string{"adapter", "peft"} {
			copyDir(t, filepath.Join(goDir, name, sub), filepath.Join(goFixtures, name, sub))
		}
	}
	copyFile(t, out, filepath.Join(debertaFixtures, "go-to-peft.json"))
	require.NoError(t, os.RemoveAll(filepath.Join(debertaFixtures, "peft-to-go")))
	copyDir(t, peftDir, filepath.Join(debertaFixtures, "peft-to-go"))
	t.Log("DeBERTa fixtures rewritten")
}

// TestDebertaGoAdapterFilesUnchanged checks that SaveAdapter still writes, byte for byte, the
// DeBERTa adapter files PEFT was shown to load.
func TestDebertaGoAdapterFilesUnchanged(t *testing.T) {
	ck := loadCheckpoint(t, tinyDebertaDir)
	for _, c := range debertaGoCases {
		t.Run(c.name, func(t *testing.T) {
			checkAdapterFileUnchanged(t, ck, filepath.Join(debertaFixtures, "go-to-peft", c.name, "adapter"))
		})
	}
}
