package bert

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTargetsAsPEFT checks that targets select the modules PEFT's do on BertForSequenceClassification,
// the pooler included, and that the saved target_modules select exactly those again.
func TestTargetsAsPEFT(t *testing.T) {
	ck := loadFileCheckpoint(t)
	var denses []string
	for l := range 2 {
		for _, m := range []string{"attention.output.dense", "intermediate.dense", "output.dense"} {
			denses = append(denses, fmt.Sprintf("encoder.layer.%d.%s", l, m))
		}
	}
	all := m6(2)
	tests := []struct {
		name    string
		targets peft.Targets
		want    []string
		written any
	}{
		{"dense takes the pooler", peft.Targets{Modules: []string{"dense"}}, append(slices.Clone(denses), "pooler.dense"), []string{"dense"}},
		{"pooler saved, not adapted", peft.Targets{Modules: []string{"dense"}, ModulesToSave: []string{"pooler"}}, denses,
			[]string{"dense"}}, // with layers_to_transform [0, 1], which leaves the pooler out
		{"pooler alone", peft.Targets{Modules: []string{"bert.pooler.dense"}}, []string{"pooler.dense"}, []string{"pooler.dense"}},
		{"all-linear", peft.Targets{Pattern: peft.AllLinear}, append(slices.Clone(all), "pooler.dense"), []string{"query", "key", "value", "dense"}},
		{"regex on whole HF names", peft.Targets{Pattern: `bert\.encoder\.layer\.1\..*\.(query|value)`},
			[]string{"encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"}, []string{"query", "value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := trainedModel(t, ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: tt.targets})
			got := slices.Sorted(maps.Keys(m.Adapters()))
			assert.Equal(t, slices.Sorted(slices.Values(tt.want)), got)
			dir := t.TempDir()
			require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
			_, written, _, err := peft.LoadAdapterConfig(dir)
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.written, written.Modules)
			back, err := LoadAdapter(ck, dir)
			require.NoError(t, err)
			assert.Equal(t, got, slices.Sorted(maps.Keys(back.Adapters())))
			assert.Equal(t, logits(t, m), logits(t, back))
		})
	}
}

// m6 returns the six encoder linear layers of each of layers layers.
func m6(layers int) []string {
	var names []string
	for l := range layers {
		for _, m := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"} {
			names = append(names, fmt.Sprintf("encoder.layer.%d.%s", l, m))
		}
	}
	return names
}

// TestPoolerAdapterActs checks that an adapter on the pooler changes the logits (it is in the
// forward pass) and merges into the exported pooler weights.
func TestPoolerAdapterActs(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m, err := New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.Targets{Modules: []string{"pooler.dense"}}})
	require.NoError(t, err)
	before := logits(t, m)
	a := m.Adapters()["pooler.dense"]
	require.NotNil(t, a)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range a.TrainableParams() {
		d := p.Value().Data().F32()
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
	}
	after := logits(t, m)
	assert.NotEqual(t, before, after)
	plain := exportedModel(t, m)
	assert.InDeltaSlice(t, after, logits(t, plain), 1e-5)
}

// TestLoadAdapterWithoutTaskType loads a file as PEFT saves it with task_type unset: adapters
// only, no classifier, which then comes from the checkpoint (as in PEFT) or is demanded.
func TestLoadAdapterWithoutTaskType(t *testing.T) {
	ck := loadFileCheckpoint(t)
	require.True(t, ck.HasClassifier())
	m, err := New(ck, Options{Adapter: hra.Config{R: 2, Init: hra.RandomInit}, Seed: 4})
	require.NoError(t, err)
	adapters := map[string]peft.Adapter{}
	for name, a := range m.Adapters() {
		adapters["bert."+name] = a
	}
	dir := t.TempDir()
	require.NoError(t, peft.SaveAdapter(dir, hra.Config{R: 2, Init: hra.RandomInit}, peft.Targets{Modules: []string{"query", "value"}}, adapters, nil, peft.Meta{}))

	back, err := LoadAdapter(ck, dir)
	require.NoError(t, err)
	assert.Equal(t, logits(t, m), logits(t, back), "the checkpoint's classifier, as PEFT takes the base model's")
	_, total := back.NumParams()
	trainable, _ := back.NumParams()
	assert.Less(t, trainable, total)
	for _, p := range back.TrainableParams() {
		assert.NotSame(t, back.Classifier.W, p, "the base's classifier stays frozen")
	}
	resaved := t.TempDir()
	require.NoError(t, back.SaveAdapter(resaved, peft.Meta{}))
	_, _, meta, err := peft.LoadAdapterConfig(resaved)
	require.NoError(t, err)
	assert.Empty(t, meta.TaskType, "saved again without task_type, so PEFT takes the base's classifier too")

	headless := &checkpoint.Checkpoint{Config: ck.Config, Tensors: maps.Clone(ck.Tensors)}
	delete(headless.Tensors, "classifier.weight")
	delete(headless.Tensors, "classifier.bias")
	_, err = LoadAdapter(headless, dir)
	require.ErrorIs(t, err, ErrNoHead)
	assert.Contains(t, err.Error(), "no task_type")
}

// TestLoadAdapterClassifierTargets refuses, by name, the files in which PEFT adapts the
// classifier: "all-linear" without task_type, whose saved target_modules list "classifier".
func TestLoadAdapterClassifierTargets(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: hra.Config{R: 2}})
	saved := t.TempDir()
	require.NoError(t, m.SaveAdapter(saved, peft.Meta{}))
	for name, edit := range map[string]func(map[string]any){
		"classifier listed": func(c map[string]any) {
			c["target_modules"] = []string{"query", "value", "classifier"}
			c["task_type"], c["modules_to_save"] = nil, nil
		},
		"all-linear without the task": func(c map[string]any) {
			c["target_modules"] = "all-linear"
			c["task_type"] = nil
			c["modules_to_save"] = nil
		},
		"pattern with the classifier": func(c map[string]any) {
			c["target_modules"] = ".*(query|value|classifier)"
			c["task_type"], c["modules_to_save"] = nil, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a")
			copyAdapter(t, saved, dir)
			editConfig(t, dir, edit)
			_, err := LoadAdapter(ck, dir)
			require.ErrorIs(t, err, peft.ErrUnsupported)
			assert.Contains(t, err.Error(), "classifier")
		})
	}
}

// copyAdapter copies the two files of the adapter in src to a new directory dst.
func copyAdapter(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, name := range []string{peft.AdapterConfigFile, peft.AdapterWeightsFile} {
		data, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, name), data, 0o644))
	}
}

// TestLoadAdapterSavedClassifierNotTargeted loads a file that names the classifier among its
// targets and in modules_to_save (or with task_type SEQ_CLS, which puts it there): PEFT trains
// it in full and adapts it not, and so does LoadAdapter.
func TestLoadAdapterSavedClassifierNotTargeted(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: hra.Config{R: 2}})
	dir := t.TempDir()
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	for _, saved := range []any{[]string{"classifier"}, nil} { // SEQ_CLS adds it when absent
		editConfig(t, dir, func(c map[string]any) {
			c["target_modules"] = []string{"query", "value", "classifier"}
			c["modules_to_save"] = saved
		})
		back, err := LoadAdapter(ck, dir)
		require.NoError(t, err)
		assert.Equal(t, logits(t, m), logits(t, back))
	}
}
