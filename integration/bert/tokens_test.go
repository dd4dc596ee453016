package bert

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// taskFixtures is testdata/tasks.json (tiny-bert) or tasks-<model_type>.json (a tiny family
// checkpoint), written by testdata/make_task_fixtures.py with the real transformers. Head weights
// are set in the family's files only: the heads transformers drew there, which Go sets the same.
type taskFixtures struct {
	Token struct {
		InputIDs     [][]int       `json:"input_ids"`
		TokenTypeIDs [][]int       `json:"token_type_ids"`
		Labels       [][]int       `json:"labels"`
		Logits       [][][]float64 `json:"logits"`
		Loss         float64       `json:"loss"`
		taskHead
	} `json:"token"`
	Pairs struct {
		InputIDs     [][]int     `json:"input_ids"`
		TokenTypeIDs [][]int     `json:"token_type_ids"`
		Logits       [][]float64 `json:"logits"`
	} `json:"pairs"`
	Regression struct {
		InputIDs     [][]int   `json:"input_ids"`
		TokenTypeIDs [][]int   `json:"token_type_ids"`
		Scores       []float64 `json:"scores"`
		Logits       []float64 `json:"logits"`
		Loss         float64   `json:"loss"`
		taskHead
	} `json:"regression"`
}

// taskHead is the output layer transformers drew for a task, when the checkpoint has none of that
// shape: HeadWeight [labels][hidden].
type taskHead struct {
	HeadWeight [][]float64 `json:"head_weight"`
	HeadBias   []float64   `json:"head_bias"`
}

// set copies the head into m's classifier (float32 or float64).
func (h taskHead) set(t *testing.T, m *Model) {
	t.Helper()
	require.Len(t, h.HeadBias, m.Classifier.B.Value().Size())
	var w []float64
	for _, row := range h.HeadWeight {
		w = append(w, row...)
	}
	m.Classifier.W.Value().(mat.Matrix).SetData(float.Make(w...))
	m.Classifier.B.Value().(mat.Matrix).SetData(float.Make(h.HeadBias...))
}

// taskFixturesDir holds the committed records of transformers on the tasks.
const taskFixturesDir = "testdata"

// taskCase is one checkpoint of the task fixtures: tiny-bert (tasks.json), each tiny family
// checkpoint and DeBERTa-v2's testdata/tiny-deberta-v3 and -proj (tasks-<name>.json).
type taskCase struct {
	name string
	ck   func(t *testing.T) *checkpoint.Checkpoint
	file string
	// tol64 is the float64 tolerance: 1e-9, but transformers' DeBERTa-v2 scales attention by a
	// float32 square root even in float64 (scaled_size_sqrt), which Go computes in float64.
	tol64 float64
}

func taskCases(dir string) []taskCase {
	cases := []taskCase{{"bert", func(t *testing.T) *checkpoint.Checkpoint { return loadTinyBERT(t) }, filepath.Join(dir, "tasks.json"), 1e-9}}
	for _, arch := range family {
		cases = append(cases, taskCase{arch.modelType, func(t *testing.T) *checkpoint.Checkpoint {
			return must(checkpoint.LoadDir(familyDir(arch.modelType)))
		}, filepath.Join(dir, "tasks-"+arch.modelType+".json"), 1e-9})
	}
	for _, name := range []string{"deberta-v3", "deberta-proj"} { // DeBERTa-v2: without and with token types
		cases = append(cases, taskCase{name, func(t *testing.T) *checkpoint.Checkpoint {
			return must(checkpoint.LoadDir(filepath.Join("testdata", "tiny-"+name)))
		}, filepath.Join(dir, "tasks-"+name+".json"), 1e-7})
	}
	return cases
}

// TestTokenLogitsMatchTransformers checks the token head against every architecture's
// …ForTokenClassification on a batch of three lengths (padded there, packed here), in float64 and
// float32.
func TestTokenLogitsMatchTransformers(t *testing.T) { checkTokenLogits(t, taskFixturesDir) }

// TestPairLogitsMatchTransformers checks every architecture's …ForSequenceClassification on
// sentence pairs as its tokenizer joins them (token types on BERT and ELECTRA).
func TestPairLogitsMatchTransformers(t *testing.T) { checkPairLogits(t, taskFixturesDir) }

// TestRegressionLogitsMatchTransformers checks a one-output head (transformers' regression) on
// sentence pairs against every architecture's …ForSequenceClassification with num_labels=1.
func TestRegressionLogitsMatchTransformers(t *testing.T) { checkRegressionLogits(t, taskFixturesDir) }

// TestLiveTaskFixtures runs testdata/make_task_fixtures.py with the real transformers and checks
// Go against its fresh output.
func TestLiveTaskFixtures(t *testing.T) {
	py := testenv.Python(t)
	out := t.TempDir()
	if b, err := exec.Command(py, "testdata/make_task_fixtures.py", out).CombinedOutput(); err != nil {
		t.Fatalf("make_task_fixtures.py: %v\n%s", err, b)
	}
	checkTokenLogits(t, out)
	checkPairLogits(t, out)
	checkRegressionLogits(t, out)
}

func checkPairLogits(t *testing.T, dir string) {
	for _, tc := range taskCases(dir) {
		t.Run(tc.name, func(t *testing.T) {
			var f taskFixtures
			readJSON(t, tc.file, &f)
			m := must(newModel[float64](tc.ck(t), Options{}))
			got := must(m.Logits(Batch{IDs: f.Pairs.InputIDs, TypeIDs: f.Pairs.TokenTypeIDs}))
			assertRows(t, "pair logits", f.Pairs.Logits, got, tc.tol64)
		})
	}
}

func checkTokenLogits(t *testing.T, dir string) {
	for _, tc := range taskCases(dir) {
		t.Run(tc.name, func(t *testing.T) {
			var f taskFixtures
			readJSON(t, tc.file, &f)
			var want [][]float64
			for _, rows := range f.Token.Logits {
				want = append(want, rows...)
			}
			ck := tc.ck(t)
			for _, prec := range []struct {
				name string
				m    *Model
				tol  float64
			}{
				{"float64", must(newModel[float64](ck, Options{TokenClassification: true})), tc.tol64},
				{"float32", must(New(ck, Options{TokenClassification: true})), 1e-5},
			} {
				t.Run(prec.name, func(t *testing.T) {
					if f.Token.HeadWeight != nil {
						f.Token.set(t, prec.m)
					}
					got := must(prec.m.TokenLogits(Batch{IDs: f.Token.InputIDs, TypeIDs: f.Token.TokenTypeIDs}))
					assertRows(t, "token logits", want, got, prec.tol)
				})
			}
		})
	}
}

func checkRegressionLogits(t *testing.T, dir string) {
	for _, tc := range taskCases(dir) {
		t.Run(tc.name, func(t *testing.T) {
			var f taskFixtures
			readJSON(t, tc.file, &f)
			ck := tc.ck(t)
			m := must(newModel[float64](ck, Options{NumLabels: 1}))
			require.Equal(t, 1, m.NumLabels())
			if f.Regression.HeadWeight != nil {
				f.Regression.set(t, m)
			} else { // tasks.json's head is row 0 of tiny-bert's classifier
				w, b := ck.Tensors["classifier.weight"], ck.Tensors["classifier.bias"]
				for i := range ck.Config.HiddenSize {
					m.Classifier.W.Value().Data().F64()[i] = float64(w.Data[i])
				}
				m.Classifier.B.Value().Data().F64()[0] = float64(b.Data[0])
			}
			want := make([][]float64, len(f.Regression.Logits))
			for i, v := range f.Regression.Logits {
				want[i] = []float64{v}
			}
			got := must(m.Logits(Batch{IDs: f.Regression.InputIDs, TypeIDs: f.Regression.TokenTypeIDs}))
			assertRows(t, "regression logits", want, got, tc.tol64)
		})
	}
}

// TestTokenLogitsGradients checks the gradients of the token head path by finite differences,
// with respect to an adapter's parameters and the classifier.
func TestTokenLogitsGradients(t *testing.T) {
	ck := loadTinyBERT(t)
	m, err := newModel[float64](ck, Options{Adapter: hra.Config{R: 2}, Targets: peft.Targets{Modules: []string{"query", "value"}}, TokenClassification: true})
	require.NoError(t, err)
	perturb(m, 7)
	inputs := dense64(m.Classifier.W, m.Classifier.B)
	for _, p := range m.Adapters()["encoder.layer.1.attention.self.value"].TrainableParams() {
		inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
	}
	loss := func() mat.Tensor { return gradcheck.Projection(must(m.TokenLogits(tinyBatch)), 8) }
	gradcheck.Check(t, loss, 1e-5, inputs...)
}

// TestTokenClassifierAdapterFile checks a token classifier's adapter file: task_type TOKEN_CLS,
// the classifier saved and no pooler (BertForTokenClassification has none, so "dense" does not
// adapt it), and the same token logits once loaded.
func TestTokenClassifierAdapterFile(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.Targets{Modules: []string{"dense"}, ModulesToSave: []string{"classifier"}},
		NumLabels: 5, TokenClassification: true, Seed: 3}))
	assert.NotContains(t, m.Adapters(), "pooler.dense")
	assert.Contains(t, m.Adapters(), "encoder.layer.0.attention.output.dense")
	perturb(m, 2)
	dir := filepath.Join(t.TempDir(), "ner")
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	_, targets, meta, err := peft.LoadAdapterConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, "TOKEN_CLS", meta.TaskType)
	assert.Equal(t, []string{"classifier"}, targets.ModulesToSave)
	loaded, err := LoadAdapter(ck, dir)
	require.NoError(t, err)
	assert.True(t, loaded.TokenClassification())
	assert.Equal(t, 5, loaded.NumLabels())
	assert.InDeltaSlice(t, must(m.TokenLogits(tinyBatch)).Value().Data().F64(), must(loaded.TokenLogits(tinyBatch)).Value().Data().F64(), 1e-6)

	err = m.SaveAdapter(dir, peft.Meta{TaskType: "SEQ_CLS"})
	assert.ErrorIs(t, err, peft.ErrInvalidConfig, "a token classifier saved as a sequence classifier")
	_, err = must(New(ck, Options{})).TokenLogits(tinyBatch)
	assert.True(t, errors.Is(err, ErrInvalidInput), "TokenLogits of a sequence classifier: %v", err)
}

// TestTokenClassifierExport checks a token classifier's merged export on every architecture:
// config.json names its …ForTokenClassification class, the export has no sequence head dense
// layer (no pooler, classifier.dense or pre_classifier: transformers' token classes have none,
// and load the export without missing or unexpected keys), and loaded again it gives the same
// token logits.
func TestTokenClassifierExport(t *testing.T) {
	cases := append(bertFamily(t), familyModel{"deberta-v3", must(checkpoint.LoadDir("testdata/tiny-deberta-v3")), Batch{IDs: [][]int{{1, 5, 8, 37, 2}, {1, 21, 2}}}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := must(New(tc.ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.Targets{Pattern: peft.AllLinear},
				NumLabels: 4, TokenClassification: true}))
			perturb(m, 3)
			dir := filepath.Join(t.TempDir(), "merged")
			require.NoError(t, m.ExportMerged(dir))
			var cfg map[string]any
			readJSON(t, filepath.Join(dir, checkpoint.ConfigFile), &cfg)
			assert.Equal(t, []any{tc.ck.Config.Architecture().TokenClass()}, cfg["architectures"])
			exported, err := checkpoint.LoadDir(dir)
			require.NoError(t, err)
			assert.True(t, exported.HasTokenClassifier())
			assert.False(t, exported.HasHeadDense(), "a token classifier's export has no sequence head")
			again := must(New(exported, Options{TokenClassification: true}))
			assert.Equal(t, 4, again.NumLabels())
			assert.InDeltaSlice(t, must(m.TokenLogits(tc.batch)).Value().Data().F64(), must(again.TokenLogits(tc.batch)).Value().Data().F64(), 1e-5)
		})
	}
}
