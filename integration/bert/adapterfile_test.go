package bert

import (
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileCheckpoint is tiny-bert: hidden 32, 2 layers, 3 labels.
const fileCheckpoint = "../checkpoint/testdata/tiny-bert"

// fileBatch holds sequences of several lengths, with both token types.
var fileBatch = Batch{
	IDs:     [][]int{{2, 5, 8, 37, 20, 86, 3}, {2, 40, 3}, {2, 11, 12, 3, 13, 14, 15, 3}},
	TypeIDs: [][]int{nil, nil, {0, 0, 0, 0, 1, 1, 1, 1}},
}

// fileCases are the models saved, loaded and exported.
var fileCases = []struct {
	name string
	opts Options
}{
	{"hra", Options{Adapter: hra.Config{R: 4}, Targets: peft.DefaultBertTargets}},
	{"hra-gs-two-labels", Options{Adapter: hra.Config{R: 3, Init: hra.RandomInit, GS: true}, NumLabels: 2}},
	{"lora-dense", Options{Adapter: lora.Config{R: 4, Alpha: 8, Dropout: 0.1, UseRSLoRA: true}, Targets: peft.Targets{Modules: []string{"query", "key", "value", "dense"}}}},
	{"lora-one-module", Options{Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.Targets{Modules: []string{"encoder.layer.0.output.dense"}}}},
	{"oft-layer-1", Options{Adapter: oft.Config{BlockSize: 8}, Targets: peft.Targets{Modules: []string{"value"}, LayersToTransform: []int{1}, ModulesToSave: []string{"pooler"}}}},
	{"oft-neumann-coft", Options{Adapter: oft.Config{R: 4, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5, COFT: true, Eps: 0.5}, Targets: peft.DefaultBertTargets}},
}

func loadFileCheckpoint(t *testing.T) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.LoadDir(fileCheckpoint)
	require.NoError(t, err)
	return ck
}

// trainedModel builds the model of opts and moves every trainable parameter off its init, as
// training would.
func trainedModel(t *testing.T, ck *checkpoint.Checkpoint, opts Options) *Model {
	t.Helper()
	opts.Seed = 3
	m, err := New(ck, opts)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, p := range m.TrainableParams() {
		d := p.Value().Data().F32()
		for i := range d {
			d[i] += float32(0.2 * (rng.Float64()*2 - 1))
		}
	}
	return m
}

func logits(t *testing.T, m *Model) []float32 {
	t.Helper()
	y, err := m.Logits(fileBatch)
	require.NoError(t, err)
	return y.Value().Data().F32()
}

func TestSaveLoadAdapterRoundTrip(t *testing.T) {
	ck := loadFileCheckpoint(t)
	for _, c := range fileCases {
		t.Run(c.name, func(t *testing.T) {
			m := trainedModel(t, ck, c.opts)
			dir := filepath.Join(t.TempDir(), "adapter")
			require.NoError(t, m.SaveAdapter(dir, peft.Meta{BaseModel: "tiny-bert"}))

			back, err := LoadAdapter(ck, dir)
			require.NoError(t, err)
			assert.Equal(t, logits(t, m), logits(t, back), "identical logits")
			assert.Equal(t, m.NumLabels(), back.NumLabels())
			require.Equal(t, len(m.TrainableParams()), len(back.TrainableParams()))
			for i, p := range m.TrainableParams() {
				assert.Equal(t, p.Value().Data().F32(), back.TrainableParams()[i].Value().Data().F32(), "trainable parameter %d", i)
			}
			var adapted []string
			for name := range m.Adapters() {
				adapted = append(adapted, name)
				require.Contains(t, back.Adapters(), name)
			}
			assert.Len(t, back.Adapters(), len(adapted))

			_, _, meta, err := peft.LoadAdapterConfig(dir)
			require.NoError(t, err)
			assert.Equal(t, peft.Meta{BaseModel: "tiny-bert", TaskType: "SEQ_CLS"}, meta)
		})
	}
}

func TestSaveAdapterWritesPEFTLayout(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: peft.DefaultBertTargets})
	dir := t.TempDir()
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	var config map[string]any
	data, err := os.ReadFile(filepath.Join(dir, peft.AdapterConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &config))
	assert.Equal(t, []any{"query", "value"}, config["target_modules"])
	assert.Equal(t, []any{"pooler.dense", "classifier"}, config["modules_to_save"])
	assert.Equal(t, "SEQ_CLS", config["task_type"])

	keys := map[string][]int{}
	for _, l := range []string{"0", "1"} {
		for _, proj := range []string{"query", "value"} {
			keys["base_model.model.bert.encoder.layer."+l+".attention.self."+proj+".lora_A.weight"] = []int{2, 32}
			keys["base_model.model.bert.encoder.layer."+l+".attention.self."+proj+".lora_B.weight"] = []int{32, 2}
		}
	}
	keys["base_model.model.bert.pooler.dense.weight"] = []int{32, 32}
	keys["base_model.model.bert.pooler.dense.bias"] = []int{32}
	keys["base_model.model.classifier.weight"] = []int{3, 32}
	keys["base_model.model.classifier.bias"] = []int{3}
	_, err = peft.LoadAdapterTensors(dir, keys)
	assert.NoError(t, err, "exactly PEFT's keys and shapes")
}

// TestLoadAdapterPEFTConventions loads a file whose names follow PeftModelForSequenceClassification:
// "bert."-prefixed targets and "score" in modules_to_save.
func TestLoadAdapterPEFTConventions(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: hra.Config{R: 2}, Targets: peft.DefaultBertTargets})
	dir := t.TempDir()
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	editConfig(t, dir, func(c map[string]any) {
		c["target_modules"] = []string{"bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.1.attention.self.query", "value"}
		c["modules_to_save"] = []string{"pooler", "classifier", "classifier", "score"}
	})
	back, err := LoadAdapter(ck, dir)
	require.NoError(t, err)
	assert.Equal(t, logits(t, m), logits(t, back))
}

// editConfig rewrites dir/adapter_config.json through edit.
func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, peft.AdapterConfigFile)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(data, &c))
	edit(c)
	data, err = json.Marshal(c)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func TestSaveMergedModel(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: oft.Config{BlockSize: 4}, Targets: peft.DefaultBertTargets})
	want := logits(t, m)
	require.NoError(t, m.Merge())
	dir := t.TempDir()
	require.NoError(t, m.SaveAdapter(dir, peft.Meta{}))
	back, err := LoadAdapter(ck, dir)
	require.NoError(t, err)
	assert.InDeltaSlice(t, want, logits(t, back), 1e-5)
}

func TestSaveAdapterRejects(t *testing.T) {
	ck := loadFileCheckpoint(t)
	for name, opts := range map[string]Options{"head only": {}, "full fine-tuning": {FullFineTune: true}} {
		m, err := New(ck, opts)
		require.NoError(t, err)
		assert.ErrorIs(t, m.SaveAdapter(t.TempDir(), peft.Meta{}), peft.ErrInvalidConfig, name)
	}
	m := trainedModel(t, ck, Options{Adapter: hra.Config{R: 2}})
	assert.ErrorIs(t, m.SaveAdapter(t.TempDir(), peft.Meta{TaskType: "CAUSAL_LM"}), peft.ErrInvalidConfig)
}

func TestLoadAdapterErrors(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m := trainedModel(t, ck, Options{Adapter: hra.Config{R: 4}, Targets: peft.DefaultBertTargets})
	saved := t.TempDir()
	require.NoError(t, m.SaveAdapter(saved, peft.Meta{}))
	cases := []struct {
		name     string
		edit     func(map[string]any)
		sentinel error
		msg      string
	}{
		{"other rank", func(c map[string]any) { c["r"] = 2 }, peft.ErrTensorMismatch, "has shape [32 4], the model needs [32 2]"},
		{"other targets", func(c map[string]any) { c["target_modules"] = []string{"query"} }, peft.ErrTensorMismatch, "unexpected tensor base_model.model.bert.encoder.layer.0.attention.self.value.hra_u"},
		{"no head saved", func(c map[string]any) { c["modules_to_save"] = nil }, peft.ErrTensorMismatch, "unexpected tensor base_model.model.bert.pooler.dense.bias"},
		{"unknown module", func(c map[string]any) { c["target_modules"] = []string{"q_proj"} }, peft.ErrUnknownTarget, "q_proj"},
		{"other task", func(c map[string]any) { c["task_type"] = "CAUSAL_LM" }, peft.ErrUnsupported, "CAUSAL_LM"},
		{"other method", func(c map[string]any) { c["peft_type"] = "LORA"; delete(c, "init_weights") }, peft.ErrTensorMismatch, "missing tensor"},
		{"option of another method", func(c map[string]any) { c["peft_type"] = "LORA" }, peft.ErrUnsupported, "LORA option init_weights = true"},
		{"unsupported option", func(c map[string]any) { c["bias"] = "all" }, peft.ErrUnsupported, "bias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{peft.AdapterConfigFile, peft.AdapterWeightsFile} {
				data, err := os.ReadFile(filepath.Join(saved, name))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
			}
			editConfig(t, dir, c.edit)
			_, err := LoadAdapter(ck, dir)
			require.ErrorIs(t, err, c.sentinel)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	_, err := LoadAdapter(ck, filepath.Join(t.TempDir(), "absent"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestDescribeTargets(t *testing.T) {
	ck := loadFileCheckpoint(t)
	m, err := New(ck, Options{})
	require.NoError(t, err)
	linears := m.linearNames()
	cases := []struct {
		adapted []string
		want    peft.Targets
	}{
		{[]string{"encoder.layer.0.attention.self.query", "encoder.layer.1.attention.self.query"}, peft.Targets{Modules: []string{"query"}}},
		{[]string{"encoder.layer.1.attention.self.value"}, peft.Targets{Modules: []string{"value"}, LayersToTransform: []int{1}}},
		{[]string{"encoder.layer.0.attention.output.dense", "encoder.layer.1.attention.output.dense"}, peft.Targets{Modules: []string{"attention.output.dense"}}},
		{[]string{"encoder.layer.0.output.dense"}, peft.Targets{Modules: []string{"0.output.dense"}}},
	}
	for _, c := range cases {
		got := describeTargets(checkpoint.Architectures[0], linears, c.adapted)
		assert.Equal(t, c.want, got)
		selected, err := got.Select(linears)
		require.NoError(t, err)
		assert.Equal(t, c.adapted, selected)
	}
}
