package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/require"
)

// PEFT017Var names the environment variable holding a PYTHONPATH with PEFT 0.17.1 and the
// transformers it needs, for the Neumann fixture of PEFT before 0.18 (regenerate.sh sets it).
const PEFT017Var = "SPAGO_PEFT_PEFT017"

var (
	queryValue = peft.Targets{Modules: []string{"query", "value"}}
	sixLinears = peft.Targets{Modules: []string{"query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"}}
	densePool  = peft.Targets{Modules: []string{"dense"}} // PEFT's "dense" takes bert.pooler.dense too
)

// goCase is an adapter trained in Go and given to PEFT.
type goCase struct {
	name string
	opts bert.Options
}

// goCases are the adapters trained in Go and given to PEFT: every initialisation and form of the
// three methods, each target set with each method.
var goCases = []goCase{
	{"hra-paired-query-value", bert.Options{Adapter: hra.Config{R: 4}, Targets: queryValue}},
	{"hra-odd-random-six-linears", bert.Options{Adapter: hra.Config{R: 3, Init: hra.RandomInit}, Targets: sixLinears}},
	{"hra-gs-dense-pooler", bert.Options{Adapter: hra.Config{R: 2, GS: true, Init: hra.RandomInit}, Targets: densePool}},
	{"lora-kaiming-six-linears", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: sixLinears}},
	{"lora-gaussian-dense-pooler", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8, Dropout: 0.1, Init: lora.GaussianInit}, Targets: densePool}},
	{"rslora-query-value", bert.Options{Adapter: lora.Config{R: 8, Alpha: 4, UseRSLoRA: true}, Targets: queryValue}},
	{"oft-exact-dense-pooler", bert.Options{Adapter: oft.Config{BlockSize: 8}, Targets: densePool}},
	{"oft-neumann-query-value", bert.Options{Adapter: oft.Config{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, Targets: queryValue}},
	{"oft-coft-six-linears", bert.Options{Adapter: oft.Config{R: 4, COFT: true, Eps: 1e-2}, Targets: sixLinears}},
	{"oft-block-share-query-value", bert.Options{Adapter: oft.Config{BlockSize: 8, BlockShare: true}, Targets: queryValue}},
	// Written as layers_to_transform, with the pooler trained in full (so never adapted in PEFT).
	{"lora-layer-1-pooler-saved", bert.Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.Targets{
		Modules: []string{"value", "dense"}, LayersToTransform: []int{1}, ModulesToSave: []string{"pooler"}}}},
}

// trainGo trains the model of opts on the sentences, labelled in turn, for a few steps: enough
// to move every adapter and the head off their start.
func trainGo(t *testing.T, ck *checkpoint.Checkpoint, tok tokenizer.Encoder, opts bert.Options) *bert.Model {
	t.Helper()
	opts.Seed = 1
	m, err := bert.New(ck, opts)
	require.NoError(t, err)
	var examples []train.Example
	for i, s := range readSentences(t) {
		enc := tok.Encode(s, 32)
		examples = append(examples, train.Example{IDs: enc.IDs, TypeIDs: enc.TypeIDs, Label: i % m.NumLabels()})
	}
	_, err = train.Fit(context.Background(), m, examples, train.Options{Steps: 6, BatchSize: 4, LR: 0.05, Workers: 1, Seed: 1})
	require.NoError(t, err)
	m.SetTraining(false)
	return m
}

// runPython runs interop.py with args in the reference environment.
func runPython(t *testing.T, py string, env []string, args ...string) {
	t.Helper()
	runScript(t, py, "interop.py", env, args...)
}

// runScript runs a Python script of this directory with args in the reference environment.
func runScript(t *testing.T, py, script string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	// A fixed hash seed makes PEFT write its target_modules sets in the same order every run.
	cmd.Env = append(append(os.Environ(), "PYTHONHASHSEED=0"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args[0], err, tail(out, 4000))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// liveGoToPEFT trains every case of cases in Go on ck, the base in dir with its tokenizer tok,
// saves its adapter and merged export under a new directory, has interop.py go-to-peft read
// them, and checks its record.
func liveGoToPEFT(t *testing.T, py, base string, ck *checkpoint.Checkpoint, tok tokenizer.Encoder, cases []goCase) (string, goToPEFTResults) {
	dir := t.TempDir()
	var copyIn []string
	for _, name := range tokenizerFiles {
		if _, err := os.Stat(filepath.Join(base, name)); err == nil {
			copyIn = append(copyIn, filepath.Join(base, name))
		}
	}
	for _, c := range cases {
		m := trainGo(t, ck, tok, c.opts)
		require.NoError(t, m.SaveAdapter(filepath.Join(dir, c.name, "adapter"), peft.Meta{BaseModel: filepath.Base(base)}))
		require.NoError(t, m.ExportMerged(filepath.Join(dir, c.name, "merged"), copyIn...))
	}
	out := filepath.Join(dir, "go-to-peft.json")
	runPython(t, py, nil, "go-to-peft", base, sentencesFile, dir, out)
	var res goToPEFTResults
	readJSON(t, out, &res)
	t.Run("check", func(t *testing.T) { checkGoToPEFT(t, ck, tok, dir, res) })
	return dir, res
}

// tokenizerFiles are the tokenizer files of a checkpoint directory, copied into its exports.
var tokenizerFiles = []string{checkpoint.VocabFile, checkpoint.TokenizerConfigFile, "tokenizer.json", "special_tokens_map.json"}

// livePEFTToGo has interop.py make adapters with PEFT's recipes on the base in dir (and, with
// PEFT 0.17 at hand, the old Neumann adapter) and checks that Go loads them.
func livePEFTToGo(t *testing.T, py, base string, edit func(*peftToGoExpected)) string {
	ck := loadCheckpoint(t, base)
	tok := encoderOf(t, base)
	dir := t.TempDir()
	runPython(t, py, nil, "peft-to-go", base, sentencesFile, dir)
	if old := os.Getenv(PEFT017Var); old != "" {
		runPython(t, py, []string{"PYTHONPATH=" + old}, "neumann-017", base, sentencesFile, dir)
	} else if base == tinyDir {
		t.Logf("%s unset: the PEFT 0.17 Neumann adapter is the committed one", PEFT017Var)
		copyDir(t, filepath.Join("testdata/peft-to-go", neumann017), filepath.Join(dir, neumann017))
	}
	var exp peftToGoExpected
	readJSON(t, filepath.Join(dir, "expected.json"), &exp)
	if edit != nil {
		edit(&exp)
	}
	t.Run("check", func(t *testing.T) { checkPEFTToGo(t, ck, tok, dir, exp) })
	return dir
}

// TestLiveTinyBERT runs both directions against the real libraries on the tiny test checkpoint;
// with -update it rewrites the committed fixtures from the run.
func TestLiveTinyBERT(t *testing.T) {
	py := testenv.Python(t)
	goDir, res := liveGoToPEFT(t, py, tinyDir, loadCheckpoint(t, tinyDir), tinyTokenizer(t), goCases)
	peftDir := livePEFTToGo(t, py, tinyDir, nil)
	if !*update || t.Failed() {
		return
	}
	require.NoError(t, os.RemoveAll("testdata/go-to-peft"))
	for name := range res.Cases {
		for _, sub := range []string{"adapter", "peft"} {
			copyDir(t, filepath.Join(goDir, name, sub), filepath.Join("testdata/go-to-peft", name, sub))
		}
	}
	copyFile(t, filepath.Join(goDir, "go-to-peft.json"), "testdata/go-to-peft.json")
	require.NoError(t, os.RemoveAll("testdata/peft-to-go"))
	copyDir(t, peftDir, "testdata/peft-to-go")
	runPython(t, py, nil, "versions", "testdata/versions.json")
	t.Log("fixtures rewritten")
}

// TestLiveMiniLM runs both directions on the real all-MiniLM-L6-v2 (6 layers, hidden 384), whose
// checkpoint has a pooler but no classifier.
func TestLiveMiniLM(t *testing.T) {
	py := testenv.Python(t)
	base := testenv.Model(t, "all-MiniLM-L6-v2")
	var cases []goCase
	for _, i := range []int{0, 2, 4, 5, 6, 7, 9} {
		cases = append(cases, goCases[i])
	}
	tok, err := tokenizer.FromDir(base)
	require.NoError(t, err)
	liveGoToPEFT(t, py, base, loadCheckpoint(t, base), tok, cases)
	livePEFTToGo(t, py, base, func(exp *peftToGoExpected) {
		// Without task_type PEFT saves no classifier, and this checkpoint has none to take.
		r := exp.Recipes["lora-no-task-type"]
		r.Error, r.Load, r.Logits = "no task_type", nil, nil
		exp.Recipes["lora-no-task-type"] = r
	})
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, e := range entries {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		} else {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, 0o644))
}
