package bert

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// family are the tiny checkpoints of the other members of the BERT family, written by the real
// transformers (../checkpoint/testdata/make_tiny_family.py) with its outputs in expected.json.
var family = []struct {
	modelType string
	// newMaths names the parameters whose gradients the float64 check covers because the
	// architecture computes them in a way BERT does not.
	newMaths func(m *Model) []*nn.Param
}{
	// Positions offset by padding_idx + 1; the head: dropout, dense, tanh, out_proj.
	{"roberta", func(m *Model) []*nn.Param { return []*nn.Param{m.Pooler.B, m.Classifier.B} }},
	{"xlm-roberta", func(m *Model) []*nn.Param { return []*nn.Param{m.Pooler.B} }},
	// No token types; the head: pre_classifier, ReLU, classifier.
	{"distilbert", func(m *Model) []*nn.Param { return []*nn.Param{m.Embeddings.Norm.Bias, m.Pooler.B} }},
	// embeddings_project from 16 to 32; the head: dense, GELU, out_proj.
	{"electra", func(m *Model) []*nn.Param {
		return []*nn.Param{m.Embeddings.Project.B, m.Embeddings.Norm.Weight, m.Pooler.B}
	}},
}

// familyExpected is expected.json of a tiny family checkpoint.
type familyExpected struct {
	ModelType       string        `json:"model_type"`
	InputIDs        [][]int       `json:"input_ids"`
	AttentionMask   [][]int       `json:"attention_mask"`
	TokenTypeIDs    [][]int       `json:"token_type_ids"`
	LastHiddenState [][][]float64 `json:"last_hidden_state"`
	Logits          [][]float64   `json:"logits"`
}

func familyDir(modelType string) string {
	return filepath.Join("../checkpoint/testdata", "tiny-"+modelType)
}

// loadFamily returns the tiny checkpoint of modelType, its expected outputs and their batch
// without padding.
func loadFamily(t *testing.T, modelType string) (*checkpoint.Checkpoint, familyExpected, Batch) {
	t.Helper()
	dir := familyDir(modelType)
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, modelType, ck.Config.Architecture().ModelType)
	var exp familyExpected
	readJSON(t, filepath.Join(dir, "expected.json"), &exp)
	require.Equal(t, modelType, exp.ModelType)
	var b Batch
	padded := false
	for i, row := range exp.InputIDs {
		n := 0
		for _, m := range exp.AttentionMask[i] {
			n += m
		}
		padded = padded || n < len(row)
		b.IDs = append(b.IDs, row[:n])
		if exp.TokenTypeIDs != nil {
			b.TypeIDs = append(b.TypeIDs, exp.TokenTypeIDs[i][:n])
		}
	}
	require.True(t, padded, "the batch must hold padding")
	return ck, exp, b
}

// TestFamilyMatchesTransformers checks each architecture's last hidden states (of the real
// tokens of a padded batch) and logits against transformers' float64 forward.
func TestFamilyMatchesTransformers(t *testing.T) {
	for _, arch := range family {
		t.Run(arch.modelType, func(t *testing.T) {
			ck, exp, b := loadFamily(t, arch.modelType)
			m, err := New(ck, Options{})
			require.NoError(t, err)
			hidden, _, err := m.Encode(b)
			require.NoError(t, err)
			worst := 0.0
			for s, h := range hidden {
				want := exp.LastHiddenState[s][:len(b.IDs[s])]
				assertRows(t, "last hidden state", want, h, 1e-4)
				worst = max(worst, rowsDiff(want, h))
			}
			y, err := m.Logits(b)
			require.NoError(t, err)
			assertRows(t, "logits", exp.Logits, y, 1e-4)
			t.Logf("max |Δ| hidden %.2g, logits %.2g", worst, rowsDiff(exp.Logits, y))
		})
	}
}

func rowsDiff(want [][]float64, got mat.Tensor) float64 {
	v := got.Value().Data().F64()
	d, cols := 0.0, len(want[0])
	for i, row := range want {
		for j, w := range row {
			d = max(d, abs(w-v[i*cols+j]))
		}
	}
	return d
}

// TestFamilyMergeKeepsLogits merges adapters of every method on every linear layer of each
// architecture (its own module names, the head's dense layer and ELECTRA's embeddings_project
// included) and checks that merged and unmerged logits agree.
func TestFamilyMergeKeepsLogits(t *testing.T) {
	for _, arch := range family {
		ck, _, b := loadFamily(t, arch.modelType)
		base := logitValues(t, must(New(ck, Options{})), b)
		for _, method := range methods {
			t.Run(arch.modelType+"/"+method.name, func(t *testing.T) {
				m, err := New(ck, Options{Adapter: method.config, Targets: peft.Targets{Pattern: peft.AllLinear}})
				require.NoError(t, err)
				require.Len(t, m.Adapters(), len(m.linearNames())-countSaved(m))
				perturb(m, 2)
				want := logitValues(t, m, b)
				require.Greater(t, maxDiff(want, base), 1e-3)
				require.NoError(t, m.Merge())
				assert.InDeltaSlice(t, want, logitValues(t, m, b), 1e-4)
				require.NoError(t, m.Unmerge())
				assert.InDeltaSlice(t, want, logitValues(t, m, b), 1e-4)
			})
		}
	}
}

// countSaved is the number of linear layers trained in full (the head's).
func countSaved(m *Model) int {
	n := 0
	for _, mod := range m.savedModules() {
		if mod.linear != nil {
			n++
		}
	}
	return n
}

// TestFamilyDefaultTargets checks that no targets adapt PEFT's defaults of the architecture.
func TestFamilyDefaultTargets(t *testing.T) {
	want := map[string][]string{
		"roberta":     {"encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value"},
		"xlm-roberta": {"encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value"},
		"distilbert":  {"transformer.layer.0.attention.q_lin", "transformer.layer.0.attention.v_lin"},
		"electra":     {"encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value"},
	}
	for _, arch := range family {
		t.Run(arch.modelType, func(t *testing.T) {
			ck, _, _ := loadFamily(t, arch.modelType)
			m := must(New(ck, Options{Adapter: methods[1].config}))
			assert.Equal(t, want[arch.modelType], m.adapterNames()[:2])
			assert.Len(t, m.Adapters(), 2*ck.Config.NumHiddenLayers)
		})
	}
}

// TestFamilyGradientsFloat64 checks by finite differences, in float64, the gradients through
// each architecture's own embeddings and head, and through an adapter on its first layer's query
// projection (one method per architecture, in turn: the methods' own gradients are checked on
// BERT by TestGradientsFloat64).
func TestFamilyGradientsFloat64(t *testing.T) {
	for i, arch := range family {
		ck, _, b := loadFamily(t, arch.modelType)
		b.IDs, b.TypeIDs = b.IDs[2:4], nil // the shortest sequences keep the check quick
		if arch.modelType == "electra" {
			b.TypeIDs = [][]int{nil, make([]int, len(b.IDs[1]))}
			b.TypeIDs[1][len(b.IDs[1])-1] = 1
		}
		t.Run(arch.modelType+"/full", func(t *testing.T) {
			m, err := newModel[float64](ck, Options{FullFineTune: true})
			require.NoError(t, err)
			loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 6) }
			gradcheck.Check(t, loss, 1e-5, dense64(arch.newMaths(m)...)...)
		})
		method := methods[i%len(methods)]
		t.Run(arch.modelType+"/"+method.name, func(t *testing.T) {
			m, err := newModel[float64](ck, Options{Adapter: method.config})
			require.NoError(t, err)
			perturb(m, 4)
			var inputs []*mat.Dense[float64]
			for _, p := range m.Adapters()[m.adapterNames()[0]].TrainableParams() {
				inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
			}
			loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 5) }
			gradcheck.Check(t, loss, 1e-5, inputs...)
		})
	}
}

// TestFamilyAdapterFiles saves an adapter of every method on each architecture, checks PEFT's
// key names for it (the base model's prefix on the encoder, the head's own names), loads it back
// with the same logits, and exports the model merged: the export is the architecture's
// …ForSequenceClassification under its own config keys and gives the same logits.
func TestFamilyAdapterFiles(t *testing.T) {
	keys := map[string][]string{
		"roberta": {"base_model.model.roberta.encoder.layer.1.attention.self.value.", "base_model.model.classifier.dense.weight",
			"base_model.model.classifier.out_proj.bias"},
		"xlm-roberta": {"base_model.model.roberta.encoder.layer.0.attention.self.query.", "base_model.model.classifier.out_proj.weight"},
		"distilbert": {"base_model.model.distilbert.transformer.layer.1.attention.v_lin.", "base_model.model.classifier.weight",
			"base_model.model.pre_classifier.weight"},
		"electra": {"base_model.model.electra.encoder.layer.0.attention.self.query.", "base_model.model.classifier.dense.bias"},
	}
	for _, arch := range family {
		ck, _, b := loadFamily(t, arch.modelType)
		for _, method := range methods {
			t.Run(arch.modelType+"/"+method.name, func(t *testing.T) {
				opts := Options{Adapter: method.config, Seed: 3}
				if arch.modelType == "distilbert" {
					opts.Targets.ModulesToSave = []string{"pre_classifier"}
				}
				m := trainedModel(t, ck, opts)
				want := logitValues(t, m, b)
				dir := t.TempDir()
				require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
				stored := storedKeys(t, filepath.Join(dir, peft.AdapterWeightsFile))
				for _, k := range keys[arch.modelType] {
					assert.True(t, slices.ContainsFunc(stored, func(s string) bool { return strings.HasPrefix(s, k) }), "no key %s… in %v", k, stored)
				}
				back, err := LoadAdapter(ck, dir)
				require.NoError(t, err)
				assert.InDeltaSlice(t, want, logitValues(t, back, b), 1e-6)

				export := t.TempDir()
				require.NoError(t, m.ExportMerged(export))
				exported, err := checkpoint.LoadDir(export)
				require.NoError(t, err)
				var cfg map[string]any
				readJSON(t, filepath.Join(export, checkpoint.ConfigFile), &cfg)
				a := ck.Config.Architecture()
				assert.Equal(t, a.ModelType, cfg["model_type"])
				assert.Equal(t, []any{a.Class(true)}, cfg["architectures"])
				if arch.modelType == "distilbert" {
					assert.EqualValues(t, 32, cfg["dim"])
					assert.NotContains(t, cfg, "hidden_size")
					assert.NotContains(t, cfg, "type_vocab_size")
				}
				assert.Equal(t, storedKeysOf(t, familyDir(arch.modelType)), storedKeysOf(t, export), "the export has the checkpoint's tensor names")
				assert.InDeltaSlice(t, want, logitValues(t, must(New(exported, Options{})), b), 1e-4)
			})
		}
	}
}

func storedKeysOf(t *testing.T, dir string) []string {
	t.Helper()
	return storedKeys(t, filepath.Join(dir, checkpoint.SafetensorsFile))
}

// storedKeys returns the sorted tensor names of a safetensors file.
func storedKeys(t *testing.T, path string) []string {
	t.Helper()
	keys := slices.Collect(maps.Keys(readFloats(t, path)))
	slices.Sort(keys)
	return keys
}

// headless returns ck without the tensors of the named modules.
func headless(ck *checkpoint.Checkpoint, modules ...string) *checkpoint.Checkpoint {
	out := &checkpoint.Checkpoint{Config: ck.Config, Tensors: map[string]*checkpoint.Tensor{}}
	for name, tensor := range ck.Tensors {
		if !slices.ContainsFunc(modules, func(m string) bool { return strings.HasPrefix(name, m+".") }) {
			out.Tensors[name] = tensor
		}
	}
	return out
}

// TestDistilBERTPreClassifier checks that DistilBERT's pre_classifier is trained and saved with
// the classifier, as PEFT's sequence classification task does ("classifier" in modules_to_save
// is a plain suffix of "pre_classifier" in PEFT's matching), whether or not the checkpoint has
// one: distilbert-base-uncased has none, and transformers draws it at random.
func TestDistilBERTPreClassifier(t *testing.T) {
	ck, _, b := loadFamily(t, "distilbert")
	for name, base := range map[string]*checkpoint.Checkpoint{"with head": ck, "without head": headless(ck, "pre_classifier", "classifier")} {
		t.Run(name, func(t *testing.T) {
			m := trainedModel(t, base, Options{Adapter: methods[1].config})
			assert.Contains(t, m.TrainableParams(), m.Pooler.W, "pre_classifier is trained")
			dir := t.TempDir()
			require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
			_, targets, _, err := peft.LoadAdapterConfig(dir)
			require.NoError(t, err)
			assert.Equal(t, []string{"pre_classifier", "classifier"}, targets.ModulesToSave)
			back, err := LoadAdapter(base, dir)
			require.NoError(t, err)
			assert.Equal(t, logitValues(t, m, b), logitValues(t, back, b))
		})
	}
}

// TestHeadDenseNotInCheckpoint checks the rule for a head dense layer that is not saved by
// default (BERT's pooler): on a checkpoint without it, New trains and saves it, or PEFT would
// draw its own; a file without it cannot be loaded onto such a checkpoint (PEFT's logits came
// from a random draw), and on a checkpoint with it, the checkpoint's serves, as in PEFT.
func TestHeadDenseNotInCheckpoint(t *testing.T) {
	ck := loadTinyBERT(t)
	bare := headless(ck, "pooler.dense")
	qv := Options{Adapter: methods[1].config, Targets: peft.Targets{Modules: []string{"query", "value"}}}
	m := trainedModel(t, bare, qv)
	assert.Contains(t, m.TrainableParams(), m.Pooler.W, "the drawn pooler is trained")
	dir := t.TempDir()
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	_, targets, _, err := peft.LoadAdapterConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"pooler.dense", "classifier"}, targets.ModulesToSave)
	back, err := LoadAdapter(bare, dir)
	require.NoError(t, err)
	assert.Equal(t, logitValues(t, m, tinyBatch), logitValues(t, back, tinyBatch))

	withPooler := t.TempDir()
	require.NoError(t, trainedModel(t, ck, qv).SaveAdapter(withPooler, peft.Meta{}))
	_, err = LoadAdapter(bare, withPooler)
	require.ErrorIs(t, err, ErrNoHead)
	assert.Contains(t, err.Error(), "pooler.dense")
	t.Logf("refused: %v", err)
	onPooler, err := LoadAdapter(ck, withPooler)
	require.NoError(t, err)
	assert.Equal(t, ck.Tensors["pooler.dense.weight"].Data, onPooler.Pooler.W.Value().Data().F32())
}

// TestFamilyExportCybertronRefused: cybertron runs BERT only, and nothing is written for another
// architecture.
func TestFamilyExportCybertronRefused(t *testing.T) {
	ck, _, _ := loadFamily(t, "roberta")
	dir := filepath.Join(t.TempDir(), "out")
	err := must(New(ck, Options{})).ExportCybertron(dir)
	require.ErrorIs(t, err, checkpoint.ErrUnsupported)
	assert.Contains(t, err.Error(), "roberta")
	assert.NoDirExists(t, dir)
}

// TestRobertaPositions checks RoBERTa's position ids, padding_idx + 1 + the running count of
// non-padding tokens (padding tokens keep padding_idx), and the longest sequence they admit.
func TestRobertaPositions(t *testing.T) {
	ck, _, _ := loadFamily(t, "roberta")
	m := must(New(ck, Options{}))
	pad := ck.Config.PadTokenID
	require.Equal(t, 1, pad)
	tests := []struct{ ids, want []int }{
		{[]int{0, 5, 2}, []int{2, 3, 4}},
		{[]int{0, 5, pad, 7, 2}, []int{2, 3, 1, 4, 5}},
		{[]int{pad, 0}, []int{1, 2}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, m.positions(tt.ids), "%v", tt.ids)
	}
	limit := ck.Config.MaxTokens()
	assert.Equal(t, ck.Config.MaxPositionEmbeddings-pad-1, limit)
	long := make([]int, limit+1)
	for i := range long {
		long[i] = 5
	}
	_, err := m.Logits(Batch{IDs: [][]int{long[:limit]}})
	require.NoError(t, err, "MaxTokens tokens fit")
	_, err = m.Logits(Batch{IDs: [][]int{long}})
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), fmt.Sprintf("has %d tokens, more than the model's %d positions", limit+1, limit))
}

// TestFamilyTokenTypes: DistilBERT has no token type embeddings and ignores token type ids, as
// transformers does; RoBERTa has one token type, and refuses another.
func TestFamilyTokenTypes(t *testing.T) {
	withOnes := func(b Batch) Batch {
		out := Batch{IDs: b.IDs}
		for _, ids := range b.IDs {
			types := make([]int, len(ids))
			for i := range types {
				types[i] = 1
			}
			out.TypeIDs = append(out.TypeIDs, types)
		}
		return out
	}
	ck, _, b := loadFamily(t, "distilbert")
	m := must(New(ck, Options{}))
	assert.Equal(t, logitValues(t, m, b), logitValues(t, m, withOnes(b)))

	ck, _, b = loadFamily(t, "roberta")
	_, err := must(New(ck, Options{})).Logits(withOnes(b))
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), "token type 1 outside [0, 1)")
}
