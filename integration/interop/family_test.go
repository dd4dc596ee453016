package interop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/tokenizer/hfjson"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/require"
)

// familyBase is a tiny checkpoint of another member of the BERT family, written by transformers
// (../checkpoint/testdata/make_tiny_family.py), whose fixtures are in testdata/family/<name>.
type familyBase struct {
	name, dir string
	// headless drops the classification head, as in a …Model checkpoint: transformers then
	// draws it at random, and the Go adapter must carry all of it (DistilBERT's pre_classifier).
	headless bool
}

var familyBases = []familyBase{
	{"roberta", "../checkpoint/testdata/tiny-roberta", false},
	{"xlm-roberta", "../checkpoint/testdata/tiny-xlm-roberta", false},
	{"distilbert", "../checkpoint/testdata/tiny-distilbert", false},
	{"electra", "../checkpoint/testdata/tiny-electra", false},
	{"distilbert-headless", "../checkpoint/testdata/tiny-distilbert", true},
}

// familyCases are the adapters trained in Go on each member of the family: every method, on the
// architecture's default targets (its own names) and on every linear layer (ELECTRA's
// embeddings_project and DistilBERT's pre_classifier included).
var familyCases = []goCase{
	{"hra-default-targets", bert.Options{Adapter: hra.Config{R: 4}}},
	{"lora-all-linear", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, Targets: peft.Targets{Pattern: peft.AllLinear}}},
	{"oft-default-targets", bert.Options{Adapter: oft.Config{BlockSize: 8}}},
	{"oft-neumann-all-linear", bert.Options{Adapter: oft.Config{BlockSize: 8, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5},
		Targets: peft.Targets{Pattern: peft.AllLinear}}},
}

// encoderOf returns the tokenizer of a checkpoint directory: its vocab.txt for BERT, as the BERT
// fixtures were made, its tokenizer.json otherwise.
func encoderOf(t *testing.T, dir string) tokenizer.Encoder {
	t.Helper()
	if cfg, err := checkpoint.ReadConfig(filepath.Join(dir, checkpoint.ConfigFile)); err == nil && cfg.Architecture().ModelType == "bert" {
		tok, err := tokenizer.FromDir(dir)
		require.NoError(t, err)
		return tok
	}
	tok, err := hfjson.LoadDir(dir)
	require.NoError(t, err)
	return tok
}

// load returns the checkpoint of b, without its head when b is headless.
func (b familyBase) load(t *testing.T) *checkpoint.Checkpoint {
	t.Helper()
	ck := loadCheckpoint(t, b.dir)
	if b.headless {
		a := ck.Config.Architecture()
		for name := range ck.Tensors {
			if a.IsTopLevel(name) {
				delete(ck.Tensors, name)
			}
		}
		require.False(t, ck.HasHeadDense() || ck.HasClassifier())
	}
	return ck
}

func (b familyBase) fixtures() string { return filepath.Join("testdata/family", b.name) }

// TestFamilyGoToPEFTFixtures checks, for every member of the family, the committed record of PEFT
// and transformers reading the adapters and merged exports Go wrote, and that SaveAdapter still
// writes those files byte for byte.
func TestFamilyGoToPEFTFixtures(t *testing.T) {
	for _, b := range familyBases {
		t.Run(b.name, func(t *testing.T) {
			ck := b.load(t)
			checkGoToPEFTFixtures(t, ck, encoderOf(t, b.dir), b.fixtures(), familyCases)
			checkAdapterFilesUnchanged(t, ck, filepath.Join(b.fixtures(), "go-to-peft"), familyCases)
		})
	}
}

// TestFamilyPEFTToGoFixtures checks the committed adapters PEFT made on every member of the
// family (its default targets, all-linear, no task_type).
func TestFamilyPEFTToGoFixtures(t *testing.T) {
	for _, b := range familyBases {
		if b.headless {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			var exp peftToGoExpected
			readJSON(t, filepath.Join(b.fixtures(), "peft-to-go", "expected.json"), &exp)
			checkPEFTToGo(t, b.load(t), encoderOf(t, b.dir), filepath.Join(b.fixtures(), "peft-to-go"), exp)
		})
	}
}

// TestLiveFamily runs both directions against the real libraries on every member of the family;
// with -update it rewrites testdata/family from the run.
func TestLiveFamily(t *testing.T) {
	py := testenv.Python(t)
	for _, b := range familyBases {
		t.Run(b.name, func(t *testing.T) {
			base, ck := b.dir, b.load(t)
			if b.headless { // the base model alone, as transformers saves a …Model
				base = filepath.Join(t.TempDir(), "base")
				var copyIn []string
				for _, name := range tokenizerFiles {
					if _, err := os.Stat(filepath.Join(b.dir, name)); err == nil {
						copyIn = append(copyIn, filepath.Join(b.dir, name))
					}
				}
				require.NoError(t, checkpoint.WriteDir(base, ck, copyIn...))
			}
			tok := encoderOf(t, base)
			goDir, res := liveGoToPEFT(t, py, base, ck, tok, familyCases)
			var peftDir string
			if !b.headless {
				peftDir = livePEFTToGo(t, py, base, nil)
			}
			if !*update || t.Failed() {
				return
			}
			out := b.fixtures()
			require.NoError(t, os.RemoveAll(out))
			for name := range res.Cases {
				for _, sub := range []string{"adapter", "peft"} {
					copyDir(t, filepath.Join(goDir, name, sub), filepath.Join(out, "go-to-peft", name, sub))
				}
			}
			copyFile(t, filepath.Join(goDir, "go-to-peft.json"), filepath.Join(out, "go-to-peft.json"))
			if peftDir != "" {
				copyDir(t, peftDir, filepath.Join(out, "peft-to-go"))
			}
			t.Logf("fixtures of %s rewritten", b.name)
		})
	}
	if *update && !t.Failed() {
		runPython(t, py, nil, "versions", "testdata/family/versions.json")
	}
}
