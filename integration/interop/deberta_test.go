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

// DeBERTa-v2 goes through the same checks as BERT on the two tiny random checkpoints of
// integration/bert/testdata, each on an already tokenised batch (Go's tokenisation of
// tiny-deberta-v3's is checked in package bert): tiny-deberta-v3, laid out as DeBERTa-v3 (shared
// attention keys, log buckets), and tiny-deberta-proj (embed_proj, absolute positions, c2p only
// with its own pos_key_proj).
type debertaBase struct {
	name, dir string
	// fixtures holds batch.json and the committed records (testdata/deberta-NAME).
	fixtures string
	// goCases are the adapters trained in Go and given to PEFT.
	goCases []goCase
}

// debertaBases: PEFT's default targets for deberta-v2 (query_proj, value_proj), the projections
// the disentangled attention also applies to the relative embeddings (key_proj when shared,
// pos_key_proj otherwise), the pooler through "dense" (outside the base model:
// base_model.model.pooler.dense), all-linear.
var debertaBases = []debertaBase{
	{"v3", "../bert/testdata/tiny-deberta-v3", "testdata/deberta-v3", []goCase{
		{"hra-default-targets", bert.Options{Adapter: hra.Config{R: 4}}},
		{"lora-qkv-dense-pooler", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: peft.Targets{Modules: []string{"query_proj", "key_proj", "value_proj", "dense"}}}},
		{"oft-exact-all-linear", bert.Options{Adapter: oft.Config{BlockSize: 8}, Targets: peft.Targets{Pattern: peft.AllLinear}}},
		{"oft-neumann-default-targets", bert.Options{Adapter: oft.Config{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}}},
	}},
	{"proj", "../bert/testdata/tiny-deberta-proj", "testdata/deberta-proj", []goCase{
		{"lora-all-linear", bert.Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.Targets{Pattern: peft.AllLinear}}},
		{"hra-pos-key-value", bert.Options{Adapter: hra.Config{R: 2}, Targets: peft.Targets{Modules: []string{"pos_key_proj", "value_proj"}}}},
	}},
}

// batch reads the padded batch both sides compute logits on.
func (d debertaBase) batch(t *testing.T) bert.Batch {
	t.Helper()
	var b struct {
		InputIDs      [][]int `json:"input_ids"`
		AttentionMask [][]int `json:"attention_mask"`
	}
	readJSON(t, filepath.Join(d.fixtures, "batch.json"), &b)
	return unpadded(t, nil, nil, b.InputIDs, b.AttentionMask)
}

// TestDebertaGoToPEFTFixtures checks the committed record of PEFT and transformers reading the
// DeBERTa adapters and merged exports Go wrote (testdata/deberta-*/go-to-peft).
func TestDebertaGoToPEFTFixtures(t *testing.T) {
	for _, d := range debertaBases {
		t.Run(d.name, func(t *testing.T) { checkGoToPEFTFixtures(t, loadCheckpoint(t, d.dir), nil, d.fixtures, d.goCases) })
	}
}

// TestDebertaPEFTToGoFixtures checks the committed DeBERTa adapters PEFT made
// (testdata/deberta-*/peft-to-go).
func TestDebertaPEFTToGoFixtures(t *testing.T) {
	for _, d := range debertaBases {
		t.Run(d.name, func(t *testing.T) {
			var exp peftToGoExpected
			readJSON(t, filepath.Join(d.fixtures, "peft-to-go", "expected.json"), &exp)
			checkPEFTToGo(t, loadCheckpoint(t, d.dir), nil, filepath.Join(d.fixtures, "peft-to-go"), exp)
		})
	}
}

// TestLiveTinyDeberta runs both directions against the real libraries on the tiny DeBERTa
// checkpoints; with -update it rewrites testdata/deberta-* from the run.
func TestLiveTinyDeberta(t *testing.T) {
	py := testenv.Python(t)
	for _, d := range debertaBases {
		t.Run(d.name, func(t *testing.T) { liveDeberta(t, py, d) })
	}
}

func liveDeberta(t *testing.T, py string, d debertaBase) {
	ck := loadCheckpoint(t, d.dir)
	batch := d.batch(t)
	batchFile := filepath.Join(d.fixtures, "batch.json")
	goDir := t.TempDir()
	for _, c := range d.goCases {
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
		require.NoError(t, m.SaveAdapter(filepath.Join(goDir, c.name, "adapter"), peft.Meta{BaseModel: filepath.Base(d.dir)}))
		require.NoError(t, m.ExportMerged(filepath.Join(goDir, c.name, "merged")))
	}
	out := filepath.Join(goDir, "go-to-peft.json")
	runScript(t, py, "deberta.py", nil, "go-to-peft", d.dir, batchFile, goDir, out)
	var res goToPEFTResults
	readJSON(t, out, &res)
	t.Run("go-to-peft", func(t *testing.T) { checkGoToPEFT(t, ck, nil, goDir, res) })

	peftDir := t.TempDir()
	runScript(t, py, "deberta.py", nil, "peft-to-go", d.dir, batchFile, peftDir)
	var exp peftToGoExpected
	readJSON(t, filepath.Join(peftDir, "expected.json"), &exp)
	t.Run("peft-to-go", func(t *testing.T) { checkPEFTToGo(t, ck, nil, peftDir, exp) })
	if !*update || t.Failed() {
		return
	}
	goFixtures := filepath.Join(d.fixtures, "go-to-peft")
	require.NoError(t, os.RemoveAll(goFixtures))
	for name := range res.Cases {
		for _, sub := range []string{"adapter", "peft"} {
			copyDir(t, filepath.Join(goDir, name, sub), filepath.Join(goFixtures, name, sub))
		}
	}
	copyFile(t, out, filepath.Join(d.fixtures, "go-to-peft.json"))
	require.NoError(t, os.RemoveAll(filepath.Join(d.fixtures, "peft-to-go")))
	copyDir(t, peftDir, filepath.Join(d.fixtures, "peft-to-go"))
	t.Logf("%s rewritten", d.fixtures)
}

// TestDebertaGoAdapterFilesUnchanged checks that SaveAdapter still writes, byte for byte, the
// DeBERTa adapter files PEFT was shown to load.
func TestDebertaGoAdapterFilesUnchanged(t *testing.T) {
	for _, d := range debertaBases {
		t.Run(d.name, func(t *testing.T) {
			checkAdapterFilesUnchanged(t, loadCheckpoint(t, d.dir), filepath.Join(d.fixtures, "go-to-peft"), d.goCases)
		})
	}
}
