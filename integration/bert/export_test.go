package bert

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// weightsOf copies every weight of m's modules.
func weightsOf(m *Model) [][]float32 {
	var out [][]float32
	for _, mod := range m.modules {
		for _, p := range mod.params {
			out = append(out, slices.Clone(p.Value().Data().F32()))
		}
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	var worst float64
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i])-float64(b[i])))
	}
	return worst
}

// TestExportMergedReloads exports each adapted model as a plain checkpoint, which the checkpoint
// loader reads and the plain model (no adapters) runs to the same logits.
func TestExportMergedReloads(t *testing.T) {
	ck := loadFileCheckpoint(t)
	for _, c := range fileCases {
		t.Run(c.name, func(t *testing.T) {
			m := trainedModel(t, ck, c.opts)
			want := logits(t, m)
			before := weightsOf(m)
			dir := filepath.Join(t.TempDir(), "merged")
			require.NoError(t, m.ExportMerged(dir, filepath.Join(fileCheckpoint, checkpoint.VocabFile)))

			assert.Equal(t, before, weightsOf(m), "the model's weights are restored bit for bit")
			assert.Equal(t, want, logits(t, m), "the model is unmerged again")

			exported, err := checkpoint.LoadDir(dir)
			require.NoError(t, err)
			assert.Equal(t, m.NumLabels(), exported.Config.NumLabels())
			assert.True(t, exported.HasClassifier() && exported.HasPooler())
			plain, err := New(exported, Options{})
			require.NoError(t, err)
			assert.Empty(t, plain.Adapters())
			got := logits(t, plain)
			diff := maxAbsDiff(want, got)
			t.Logf("max logit difference merged vs adapted: %.2g", diff)
			assert.LessOrEqual(t, diff, 1e-4)

			vocab, err := os.ReadFile(filepath.Join(dir, checkpoint.VocabFile))
			require.NoError(t, err)
			original, _ := os.ReadFile(filepath.Join(fileCheckpoint, checkpoint.VocabFile))
			assert.Equal(t, original, vocab)
		})
	}
}

func TestExportMergedModel(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.DefaultBertTargets})
	require.NoError(t, m.Merge())
	want := logits(t, m)
	plain := exportedModel(t, m)
	assert.Equal(t, want, logits(t, plain), "a merged model is exported as it runs")
	require.NoError(t, m.Unmerge(), "and stays merged")
}

func TestExportHeadOnlyRenamesLabels(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{NumLabels: 2})
	dir := t.TempDir()
	require.NoError(t, m.ExportMerged(dir))
	exported, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, map[int]string{0: "LABEL_0", 1: "LABEL_1"}, exported.Config.ID2Label)
	plain, err := New(exported, Options{})
	require.NoError(t, err)
	assert.Equal(t, logits(t, m), logits(t, plain))

	assert.ErrorIs(t, m.ExportMerged(filepath.Join(dir, "x"), filepath.Join(dir, "absent.txt")), checkpoint.ErrNotFound)
}

// TestExportLabelNames checks that the names given to SetLabelNames become the export's id2label
// and label2id, and the one-line errors of names that cannot be.
func TestExportLabelNames(t *testing.T) {
	m := trainedModel(t, loadFileCheckpoint(t), Options{NumLabels: 2})
	for _, bad := range [][]string{{"a"}, {"a", "a"}, {"a", ""}, {"a", "b", "c"}} {
		err := m.SetLabelNames(bad)
		assert.ErrorIs(t, err, peft.ErrInvalidConfig, "%q", bad)
	}
	names := []string{"not_entailment", "entailment"}
	require.NoError(t, m.SetLabelNames(names))
	names[0] = "changed by the caller"
	dir := t.TempDir()
	require.NoError(t, m.ExportMerged(dir))
	exported, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, map[int]string{0: "not_entailment", 1: "entailment"}, exported.Config.ID2Label)
	assert.Equal(t, map[string]int{"not_entailment": 0, "entailment": 1}, exported.Config.Label2ID)
}

// exportedModel exports m merged and builds a plain model from the export.
func exportedModel(t *testing.T, m *Model) *Model {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, m.ExportMerged(dir))
	exported, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	plain, err := New(exported, Options{})
	require.NoError(t, err)
	return plain
}
