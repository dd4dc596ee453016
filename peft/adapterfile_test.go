package peft_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden adapter_config.json files under testdata")

// fileCases are the configurations saved and loaded; their layers are 24 inputs × 10 outputs.
var fileCases = []struct {
	name string
	cfg  peft.Config
}{
	{"hra", hra.Config{R: 4}},
	{"hra-gs", hra.Config{R: 3, Init: hra.RandomInit, GS: true}},
	{"lora", lora.Config{R: 4, Alpha: 8}},
	{"lora-rs-gaussian", lora.Config{R: 3, Alpha: 6, Dropout: 0.1, UseRSLoRA: true, Init: lora.GaussianInit}},
	{"oft", oft.Config{BlockSize: 6}},
	{"oft-shared-coft-neumann", oft.Config{R: 3, BlockShare: true, COFT: true, Eps: 0.5, UseCayleyNeumann: true, NumCayleyNeumannTerms: 4, ModuleDropout: 0.1}},
}

var fileModules = []string{"encoder.layer.0.attention.query", "encoder.layer.1.attention.query"}

// newAdapters builds an adapter of c on a random layer for each of fileModules, with every
// parameter moved off its init.
func newAdapters(t *testing.T, c peft.Config, seed uint64) map[string]peft.Adapter {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	adapters := map[string]peft.Adapter{}
	for _, m := range fileModules {
		a, err := c.New(adaptertest.Layer[float32](rng, layerIn, layerOut), rng)
		require.NoError(t, err)
		for _, p := range a.TrainableParams() {
			d := p.Value().Data().F32()
			for i := range d {
				d[i] += float32(0.1 * (rng.Float64()*2 - 1))
			}
		}
		adapters[m] = a
	}
	return adapters
}

// shapes returns the shape of each parameter.
func shapes(params map[string]*nn.Param) map[string][]int {
	out := map[string][]int{}
	for k, p := range params {
		out[k] = p.Shape()
	}
	return out
}

var head = map[string]peft.Tensor{
	"base_model.model.classifier.weight": {Shape: []int{2, 3}, Data: []float32{1, -2, 3, 0.5, 0.25, -0.125}},
	"base_model.model.classifier.bias":   {Shape: []int{2}, Data: []float32{0.1, -0.2}},
}

var fileTargets = peft.Targets{Modules: []string{"query"}, ModulesToSave: []string{"classifier"}}

func TestSaveLoadAdapterRoundTrip(t *testing.T) {
	for _, c := range fileCases {
		t.Run(c.name, func(t *testing.T) {
			saved := newAdapters(t, c.cfg, 1)
			dir := filepath.Join(t.TempDir(), "adapter")
			meta := peft.Meta{BaseModel: "prajjwal1/bert-tiny", TaskType: "SEQ_CLS"}
			require.NoError(t, peft.SaveAdapter(dir, c.cfg, fileTargets, saved, head, meta))

			cfg, targets, gotMeta, err := peft.LoadAdapterConfig(dir)
			require.NoError(t, err)
			assert.Equal(t, c.cfg, cfg)
			assert.Equal(t, fileTargets, targets)
			assert.Equal(t, meta, gotMeta)

			loaded := newAdapters(t, cfg, 2) // other values, to be overwritten
			params, err := peft.AdapterParams(loaded)
			require.NoError(t, err)
			want := shapes(params)
			for k, h := range head {
				want[k] = h.Shape
			}
			tensors, err := peft.LoadAdapterTensors(dir, want)
			require.NoError(t, err)
			for k, h := range head {
				assert.Equal(t, h, tensors[k])
			}
			require.NoError(t, peft.SetParams(params, tensors))
			savedParams, err := peft.AdapterParams(saved)
			require.NoError(t, err)
			for k, p := range savedParams {
				assert.Equal(t, p.Value().Data().F32(), params[k].Value().Data().F32(), "%s bit for bit", k)
			}
			rng := rand.New(rand.NewPCG(5, 5))
			for _, m := range fileModules {
				// The loaded adapter wraps another base layer: give it the saved one's weights.
				loaded[m].BaseLayer().W.Value().(mat.Matrix).SetData(saved[m].BaseLayer().W.Value().Data())
				loaded[m].BaseLayer().B.Value().(mat.Matrix).SetData(saved[m].BaseLayer().B.Value().Data())
				x := adaptertest.Rows[float32](rng, 5, layerIn)
				assert.Equal(t, saved[m].ForwardRows(x).Value().Data().F32(), loaded[m].ForwardRows(x).Value().Data().F32(), m)
			}
		})
	}
}

// TestAdapterConfigGolden pins adapter_config.json as SaveAdapter writes it: PEFT's keys, sorted,
// indented by two spaces. Regenerate with go test ./peft -run Golden -update.
func TestAdapterConfigGolden(t *testing.T) {
	for _, c := range fileCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, peft.SaveAdapter(dir, c.cfg, fileTargets, newAdapters(t, c.cfg, 1), nil, peft.Meta{BaseModel: "bert-base-uncased", TaskType: "SEQ_CLS"}))
			got, err := os.ReadFile(filepath.Join(dir, peft.AdapterConfigFile))
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// TestParsePEFTConfigs reads adapter_config.json files with every key PEFT 0.19 writes.
func TestParsePEFTConfigs(t *testing.T) {
	cases := []struct {
		file    string
		cfg     peft.Config
		targets peft.Targets
	}{
		{"hra.json", hra.Config{R: 8, GS: false, Init: hra.PairedInit},
			peft.Targets{Modules: []string{"value", "query"}, ModulesToSave: []string{"classifier", "score"}}},
		{"lora.json", lora.Config{R: 16, Alpha: 32, Dropout: 0.05, UseRSLoRA: true},
			peft.Targets{Modules: []string{"query", "key", "value"}, LayersToTransform: []int{0, 1}, ModulesToSave: []string{"pooler", "classifier", "score"}}},
		{"oft.json", oft.Config{BlockSize: 16, ModuleDropout: 0.1, Eps: 6e-5, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5},
			peft.Targets{Modules: []string{"encoder.layer.1.attention.self.query"}, LayersToTransform: []int{1}, ModulesToSave: []string{"classifier", "score"}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cfg, targets, meta, err := peft.LoadAdapterConfig(filepath.Join("testdata", "peft-0.19", strings.TrimSuffix(c.file, ".json")))
			require.NoError(t, err)
			assert.Equal(t, c.cfg, cfg)
			assert.Equal(t, c.targets, targets)
			assert.Equal(t, "SEQ_CLS", meta.TaskType)
			assert.Equal(t, "bert-base-uncased", meta.BaseModel)
		})
	}
}

func TestParseAdapterConfigErrors(t *testing.T) {
	lora := `"peft_type":"LORA","target_modules":["query"]`
	cases := []struct {
		name     string
		json     string
		sentinel error
		msg      string
	}{
		{"not JSON", `{`, peft.ErrCorrupt, "not a JSON object"},
		{"array", `[]`, peft.ErrCorrupt, "not a JSON object"},
		{"null", `null`, peft.ErrCorrupt, "not a JSON object"},
		{"no peft_type", `{"r":8}`, peft.ErrCorrupt, "no peft_type"},
		{"unknown peft_type", `{"peft_type":"IA3","target_modules":["query"]}`, peft.ErrUnsupported, `peft_type "IA3"; supported: HRA, LORA, OFT`},
		{"lookahead regex targets", `{"peft_type":"LORA","target_modules":"(?!.*key).*"}`, peft.ErrUnsupported, "target_modules"},
		{"regex with layers", `{"peft_type":"LORA","target_modules":".*query","layers_to_transform":[0]}`, peft.ErrInvalidConfig, "layers_to_transform cannot be used"},
		{"empty string targets", `{"peft_type":"LORA","target_modules":""}`, peft.ErrCorrupt, "empty target_modules"},
		{"no targets", `{"peft_type":"LORA"}`, peft.ErrCorrupt, "no target_modules"},
		{"empty targets", `{"peft_type":"LORA","target_modules":[]}`, peft.ErrCorrupt, "empty target_modules"},
		{"targets of numbers", `{"peft_type":"LORA","target_modules":[1]}`, peft.ErrCorrupt, "target_modules"},
		{"r as string", `{` + lora + `,"r":"8"}`, peft.ErrCorrupt, `LORA option r = "8"`},
		{"negative r", `{` + lora + `,"r":-1}`, peft.ErrInvalidConfig, "r = -1"},
		{"bias", `{` + lora + `,"bias":"all"}`, peft.ErrUnsupported, "bias"},
		{"layers_pattern", `{` + lora + `,"layers_pattern":"layer","layers_to_transform":[0]}`, peft.ErrUnsupported, "layers_pattern"},
		{"exclude_modules", `{` + lora + `,"exclude_modules":["key"]}`, peft.ErrUnsupported, "exclude_modules"},
		{"dora", `{` + lora + `,"use_dora":true}`, peft.ErrUnsupported, "use_dora = true"},
		{"fan_in_fan_out", `{` + lora + `,"fan_in_fan_out":true}`, peft.ErrUnsupported, "fan_in_fan_out"},
		{"rank_pattern", `{` + lora + `,"rank_pattern":{"query":4}}`, peft.ErrUnsupported, "rank_pattern"},
		{"pissa", `{` + lora + `,"init_lora_weights":"pissa"}`, peft.ErrUnsupported, "init_lora_weights"},
		{"unknown option", `{` + lora + `,"new_option":3}`, peft.ErrUnsupported, "new_option = 3"},
		{"oft v1", `{"peft_type":"OFT","target_modules":["query"],"r":8}`, peft.ErrUnsupported, "PEFT < 0.14"},
		{"oft r and block size", `{"peft_type":"OFT","target_modules":["query"],"r":8,"oft_block_size":4,"use_cayley_neumann":false}`, peft.ErrInvalidConfig, "exactly one"},
		{"oft random init", `{"peft_type":"OFT","target_modules":["query"],"oft_block_size":4,"init_weights":false}`, peft.ErrUnsupported, "init_weights"},
		{"hra odd paired", `{"peft_type":"HRA","target_modules":["query"],"r":0}`, peft.ErrInvalidConfig, "r = 0"},
		{"layers_to_transform string", `{` + lora + `,"layers_to_transform":"0"}`, peft.ErrCorrupt, "layers_to_transform"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := peft.ParseAdapterConfig([]byte(c.json))
			require.ErrorIs(t, err, c.sentinel)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestParseAdapterConfigPEFTDefaults(t *testing.T) {
	cases := []struct {
		json    string
		cfg     peft.Config
		targets peft.Targets
	}{
		{`{"peft_type":"HRA","target_modules":["q"]}`, hra.Config{R: 8}, peft.Targets{Modules: []string{"q"}}},
		// PEFT draws random vectors for init_weights=true with an odd r.
		{`{"peft_type":"HRA","target_modules":["q"],"r":5,"init_weights":true}`, hra.Config{R: 5, Init: hra.RandomInit}, peft.Targets{Modules: []string{"q"}}},
		{`{"peft_type":"HRA","target_modules":["q"],"apply_GS":true}`, hra.Config{R: 8, GS: true, Init: hra.RandomInit}, peft.Targets{Modules: []string{"q"}}},
		{`{"peft_type":"LORA","target_modules":["q"],"layers_to_transform":3,"megatron_core":"megatron.core","qalora_group_size":16,"loftq_config":{},"use_dora":false}`,
			lora.Config{R: 8, Alpha: 8}, peft.Targets{Modules: []string{"q"}, LayersToTransform: []int{3}}},
		{`{"peft_type":"LORA","target_modules":["q"],"init_lora_weights":"gaussian","modules_to_save":["classifier","score","classifier"]}`,
			lora.Config{R: 8, Alpha: 8, Init: lora.GaussianInit}, peft.Targets{Modules: []string{"q"}, ModulesToSave: []string{"classifier", "score"}}},
		// PEFT reads "gaussian" in any case, and false (torch's default A and B) loads the file's values.
		{`{"peft_type":"LORA","target_modules":["q"],"init_lora_weights":"Gaussian"}`, lora.Config{R: 8, Alpha: 8, Init: lora.GaussianInit}, peft.Targets{Modules: []string{"q"}}},
		{`{"peft_type":"LORA","target_modules":["q"],"init_lora_weights":false}`, lora.Config{R: 8, Alpha: 8}, peft.Targets{Modules: []string{"q"}}},
		// One string is PEFT's regular expression on the whole name, or "all-linear" in any case.
		{`{"peft_type":"HRA","target_modules":".*\\.(query|value)"}`, hra.Config{R: 8}, peft.Targets{Pattern: `.*\.(query|value)`}},
		{`{"peft_type":"HRA","target_modules":"ALL-linear"}`, hra.Config{R: 8}, peft.Targets{Pattern: "ALL-linear"}},
		{`{"peft_type":"OFT","target_modules":["q"],"oft_block_size":32,"peft_version":"0.21.2"}`,
			oft.Config{BlockSize: 32, Eps: 6e-5, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, peft.Targets{Modules: []string{"q"}}},
	}
	for _, c := range cases {
		cfg, targets, _, err := peft.ParseAdapterConfig([]byte(c.json))
		require.NoError(t, err, c.json)
		assert.Equal(t, c.cfg, cfg, c.json)
		assert.Equal(t, c.targets, targets, c.json)
	}
}

// safetensorsFile assembles a safetensors file from a raw JSON header and data, so that tests
// can write files that lie.
func safetensorsFile(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestLoadAdapterTensorsErrors(t *testing.T) {
	want := map[string][]int{"base_model.model.a.hra_u": {2, 2}, "base_model.model.b.hra_u": {2, 2}}
	f32 := func(values ...float32) []byte {
		var b []byte
		for _, v := range values {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	entry := func(name, dtype string, shape []int, begin, end int) string {
		s, _ := json.Marshal(shape)
		return fmt.Sprintf(`"base_model.model.%s":{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, s, begin, end)
	}
	good := entry("a.hra_u", "F32", []int{2, 2}, 0, 16) + "," + entry("b.hra_u", "F32", []int{2, 2}, 16, 32)
	data := f32(1, 2, 3, 4, 5, 6, 7, 8)
	cases := []struct {
		name     string
		file     []byte
		sentinel error
		msg      string
	}{
		{"missing", safetensorsFile(`{`+entry("a.hra_u", "F32", []int{2, 2}, 0, 16)+`}`, data[:16]), peft.ErrTensorMismatch, "missing tensor base_model.model.b.hra_u [2 2]"},
		{"extra", safetensorsFile(`{`+good+`,`+entry("c.hra_u", "F32", []int{1}, 32, 36)+`}`, append(data, f32(9)...)), peft.ErrTensorMismatch, "unexpected tensor base_model.model.c.hra_u [1]"},
		{"shape", safetensorsFile(`{`+entry("a.hra_u", "F32", []int{4}, 0, 16)+`,`+entry("b.hra_u", "F32", []int{1, 4}, 16, 32)+`}`, data), peft.ErrTensorMismatch,
			"tensor base_model.model.a.hra_u has shape [4], the model needs [2 2]; tensor base_model.model.b.hra_u has shape [1 4]"},
		{"integer dtype", safetensorsFile(`{`+entry("a.hra_u", "I32", []int{2, 2}, 0, 16)+`,`+entry("b.hra_u", "F32", []int{2, 2}, 16, 32)+`}`, data), peft.ErrUnsupported, "I32"},
		{"truncated", safetensorsFile(`{`+good+`}`, data[:30]), peft.ErrCorrupt, "truncated"},
		{"offsets overlap", safetensorsFile(`{`+entry("a.hra_u", "F32", []int{2, 2}, 0, 16)+`,`+entry("b.hra_u", "F32", []int{2, 2}, 8, 24)+`}`, data[:24]), peft.ErrCorrupt, "overlap"},
		{"offsets leave a gap", safetensorsFile(`{`+entry("a.hra_u", "F32", []int{2, 2}, 0, 16)+`,`+entry("b.hra_u", "F32", []int{2, 2}, 20, 36)+`}`, append(data, f32(0)...)), peft.ErrCorrupt, "belong to no tensor"},
		{"offsets disagree with shape", safetensorsFile(`{`+entry("a.hra_u", "F32", []int{2, 2}, 0, 12)+`,`+entry("b.hra_u", "F32", []int{2, 2}, 12, 32)+`}`, data), peft.ErrCorrupt, "needs 16 bytes"},
		{"header length lies", append(binary.LittleEndian.AppendUint64(nil, 1<<40), `{}`...), peft.ErrCorrupt, "header length"},
		{"NaN", safetensorsFile(`{`+good+`}`, f32(1, 2, float32(math.NaN()), 4, 5, 6, 7, 8)), peft.ErrInvalidParams, "base_model.model.a.hra_u has value NaN at index 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, peft.AdapterWeightsFile), c.file, 0o644))
			_, err := peft.LoadAdapterTensors(dir, want)
			require.ErrorIs(t, err, c.sentinel)
			assert.Contains(t, err.Error(), c.msg)
			assert.Contains(t, err.Error(), filepath.Join(dir, peft.AdapterWeightsFile), "the error names the file")
		})
	}
	_, err := peft.LoadAdapterTensors(t.TempDir(), want)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, _, _, err = peft.LoadAdapterConfig(t.TempDir())
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestLoadAdapterTensorsConvertsDTypes reads the same values stored as F16, BF16 and F64.
func TestLoadAdapterTensorsConvertsDTypes(t *testing.T) {
	values := []float64{1, -0.5, 0.375, 2}
	cases := map[string]func(float64) []byte{
		"F16": func(v float64) []byte { return binary.LittleEndian.AppendUint16(nil, half(v)) },
		"BF16": func(v float64) []byte {
			return binary.LittleEndian.AppendUint16(nil, uint16(math.Float32bits(float32(v))>>16))
		},
		"F64": func(v float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)) },
	}
	for dtype, encode := range cases {
		var data []byte
		for _, v := range values {
			data = append(data, encode(v)...)
		}
		dir := t.TempDir()
		header := fmt.Sprintf(`{"__metadata__":{"format":"pt"},"base_model.model.m.lora_A.weight":{"dtype":%q,"shape":[2,2],"data_offsets":[0,%d]}}`, dtype, len(data))
		require.NoError(t, os.WriteFile(filepath.Join(dir, peft.AdapterWeightsFile), safetensorsFile(header, data), 0o644))
		tensors, err := peft.LoadAdapterTensors(dir, map[string][]int{"base_model.model.m.lora_A.weight": {2, 2}})
		require.NoError(t, err, dtype)
		assert.Equal(t, []float32{1, -0.5, 0.375, 2}, tensors["base_model.model.m.lora_A.weight"].Data, dtype)
	}
}

// half encodes the values of the test, which are exact in binary16.
func half(v float64) uint16 {
	bits := math.Float32bits(float32(v))
	sign := uint16(bits>>16) & 0x8000
	exp := int((bits>>23)&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16((bits>>13)&0x3ff)
}

func TestSaveAdapterRejects(t *testing.T) {
	c := lora.Config{R: 2, Alpha: 4}
	adapters := newAdapters(t, c, 1)
	nan := newAdapters(t, c, 1)
	nan[fileModules[0]].TrainableParams()[0].Value().Data().F32()[0] = float32(math.NaN())
	cases := []struct {
		name     string
		cfg      peft.Config
		targets  peft.Targets
		adapters map[string]peft.Adapter
		extra    map[string]peft.Tensor
		sentinel error
	}{
		{"other config", lora.Config{R: 2, Alpha: 8}, fileTargets, adapters, nil, peft.ErrInvalidConfig},
		{"targets miss a module", c, peft.Targets{Modules: []string{"layer.0.attention.query"}}, adapters, nil, peft.ErrInvalidConfig},
		{"targets select nothing", c, peft.Targets{Modules: []string{"key"}}, adapters, nil, peft.ErrInvalidConfig},
		{"no adapters", c, fileTargets, nil, nil, peft.ErrInvalidConfig},
		{"NaN", c, fileTargets, nan, nil, peft.ErrInvalidParams},
		{"extra shape", c, fileTargets, adapters, map[string]peft.Tensor{"base_model.model.x": {Shape: []int{3}, Data: []float32{1}}}, peft.ErrInvalidConfig},
		{"extra NaN", c, fileTargets, adapters, map[string]peft.Tensor{"base_model.model.x": {Shape: []int{1}, Data: []float32{float32(math.Inf(1))}}}, peft.ErrInvalidParams},
		{"extra clash", c, fileTargets, adapters, map[string]peft.Tensor{
			peft.TensorKey(fileModules[0], "lora_A.weight"): {Shape: []int{1}, Data: []float32{1}}}, peft.ErrInvalidConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "adapter")
			err := peft.SaveAdapter(dir, tc.cfg, tc.targets, tc.adapters, tc.extra, peft.Meta{})
			require.ErrorIs(t, err, tc.sentinel)
			_, statErr := os.Stat(dir)
			assert.True(t, errors.Is(statErr, fs.ErrNotExist), "nothing written")
		})
	}
}

// TestSaveAdapterReplacesAtomically saves over an existing adapter: a failed save leaves the
// previous files byte for byte, a successful one replaces both and keeps the directory's other
// files. (internal/atomicdir's tests fail each step of the replacement.)
func TestSaveAdapterReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	c := hra.Config{R: 2}
	require.NoError(t, peft.SaveAdapter(dir, c, fileTargets, newAdapters(t, c, 1), head, peft.Meta{}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("model card"), 0o644))
	before := readAll(t, dir)

	bad := map[string]peft.Tensor{"base_model.model.classifier.weight": {Shape: []int{2}, Data: []float32{1, float32(math.NaN())}}}
	require.Error(t, peft.SaveAdapter(dir, c, fileTargets, newAdapters(t, c, 2), bad, peft.Meta{}))
	assert.Equal(t, before, readAll(t, dir), "a failed save changes nothing")

	require.NoError(t, peft.SaveAdapter(dir, c, fileTargets, newAdapters(t, c, 3), nil, peft.Meta{}))
	after := readAll(t, dir)
	assert.Equal(t, "model card", after["README.md"])
	assert.NotEqual(t, before[peft.AdapterWeightsFile], after[peft.AdapterWeightsFile])
	assert.Len(t, after, 3)
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary directory left beside the adapter")
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(data)
	}
	return out
}

func TestSetParamsAllOrNothing(t *testing.T) {
	a := mat.NewDense[float32](mat.WithShape(2, 1), mat.WithBacking([]float32{1, 2}))
	b := mat.NewDense[float64](mat.WithShape(1, 2), mat.WithBacking([]float64{3, 4}))
	params := map[string]*nn.Param{"a": nn.NewParam(a), "b": nn.NewParam(b)}
	err := peft.SetParams(params, map[string]peft.Tensor{"a": {Shape: []int{2}, Data: []float32{5, 6}}, "b": {Shape: []int{3}, Data: []float32{1, 2, 3}}})
	require.ErrorIs(t, err, peft.ErrTensorMismatch)
	assert.Equal(t, []float32{1, 2}, params["a"].Value().Data().F32(), "nothing copied")
	require.NoError(t, peft.SetParams(params, map[string]peft.Tensor{"a": {Data: []float32{5, 6}}, "b": {Data: []float32{7, 8}}}))
	assert.Equal(t, []float32{5, 6}, params["a"].Value().Data().F32())
	assert.Equal(t, []float64{7, 8}, params["b"].Value().Data().F64())
	assert.True(t, slices.Equal([]int{2, 1}, params["a"].Shape()))
}

// TestSaveAdapterPattern writes a Pattern as PEFT's target_modules string, which reads back as
// the same Pattern, and PEFT's version beside it.
func TestSaveAdapterPattern(t *testing.T) {
	cfg := hra.Config{R: 2}
	dir := t.TempDir()
	targets := peft.Targets{Pattern: `.*\.(query|key)`}
	require.NoError(t, peft.SaveAdapter(dir, cfg, targets, newAdapters(t, cfg, 1), nil, peft.Meta{}))
	var raw map[string]any
	data, err := os.ReadFile(filepath.Join(dir, peft.AdapterConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, `.*\.(query|key)`, raw["target_modules"])
	assert.Equal(t, peft.PEFTVersion, raw["peft_version"])
	_, back, _, err := peft.LoadAdapterConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, targets, back)

	both := peft.Targets{Pattern: ".*query", Modules: []string{"query"}}
	assert.ErrorIs(t, peft.SaveAdapter(t.TempDir(), cfg, both, newAdapters(t, cfg, 1), nil, peft.Meta{}), peft.ErrInvalidConfig)
}
