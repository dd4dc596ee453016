package checkpoint

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadDirTinyBERT(t *testing.T) {
	c, err := LoadDir(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasPooler() || !c.HasClassifier() || c.Config.NumLabels() != 3 {
		t.Errorf("pooler %v, classifier %v, labels %d", c.HasPooler(), c.HasClassifier(), c.Config.NumLabels())
	}
	direct, err := LoadSafetensors(filepath.Join(tinyDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, direct, c.Tensors)
}

// TestLoadDirFallback checks the order model.safetensors, pytorch_model.bin.
func TestLoadDirFallback(t *testing.T) {
	dir := t.TempDir()
	copyFiles(t, dir, tinyDir, ConfigFile, PyTorchFile)
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadPyTorch(filepath.Join(tinyDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, want, c.Tensors)
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadDirErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string // file name -> content; "@name" copies tiny-bert's file
		sentinel error
		mentions string
	}{
		{"no config", map[string]string{SafetensorsFile: "@" + SafetensorsFile}, ErrNotFound, ConfigFile},
		{"no weights", map[string]string{ConfigFile: "@" + ConfigFile}, ErrNotFound, SafetensorsFile},
		{"sharded", map[string]string{ConfigFile: "@" + ConfigFile, SafetensorsFile + ".index.json": "{}"}, ErrUnsupported, "sharded"},
		{"broken config", map[string]string{ConfigFile: "{", SafetensorsFile: "@" + SafetensorsFile}, ErrCorrupt, ConfigFile},
		{"other model type", map[string]string{ConfigFile: `{"model_type": "gpt2"}`, SafetensorsFile: "@" + SafetensorsFile}, ErrUnsupported, "gpt2"},
		{"config disagrees with weights", map[string]string{
			ConfigFile:      `{"model_type": "bert", "vocab_size": 98, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 32, "id2label": {"0": "a", "1": "b", "2": "c"}}`,
			SafetensorsFile: "@" + SafetensorsFile,
		}, ErrShapeMismatch, "encoder.layer.0.intermediate.dense.bias"},
		{"corrupt weights", map[string]string{ConfigFile: "@" + ConfigFile, SafetensorsFile: "garbage"}, ErrCorrupt, SafetensorsFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if content[0] == '@' {
					copyFiles(t, dir, tinyDir, content[1:])
					if err := os.Rename(filepath.Join(dir, content[1:]), filepath.Join(dir, name)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadDir(dir)
			requireError(t, err, tt.sentinel, tt.mentions)
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(t.TempDir(), "nowhere"))
		requireError(t, err, ErrNotFound, "nowhere")
	})
	t.Run("file instead of directory", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(tinyDir, ConfigFile))
		requireError(t, err, ErrNotFound, "not a directory")
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(c *Checkpoint)
		sentinel error // nil: valid
		mentions []string
	}{
		{"unchanged", func(*Checkpoint) {}, nil, nil},
		{"no pooler", func(c *Checkpoint) {
			delete(c.Tensors, "pooler.dense.weight")
			delete(c.Tensors, "pooler.dense.bias")
		}, nil, nil},
		{"no classifier", func(c *Checkpoint) {
			delete(c.Tensors, "classifier.weight")
			delete(c.Tensors, "classifier.bias")
		}, nil, nil},
		{"missing tensor", func(c *Checkpoint) { delete(c.Tensors, "encoder.layer.1.attention.self.key.bias") },
			ErrNotFound, []string{`"encoder.layer.1.attention.self.key.bias"`, "[32]"}},
		{"half a pooler", func(c *Checkpoint) { delete(c.Tensors, "pooler.dense.bias") },
			ErrNotFound, []string{`"pooler.dense.bias"`}},
		{"transposed weight", func(c *Checkpoint) { c.Tensors["encoder.layer.0.intermediate.dense.weight"].Shape = []int{32, 64} },
			ErrShapeMismatch, []string{`"encoder.layer.0.intermediate.dense.weight"`, "[32 64]", "[64 32]"}},
		{"wrong label count", func(c *Checkpoint) { c.Config.ID2Label = map[int]string{0: "no", 1: "yes"} },
			ErrShapeMismatch, []string{`"classifier.bias"`, "[3]", "[2]"}},
		{"layer beyond config", func(c *Checkpoint) {
			c.Tensors["encoder.layer.2.output.dense.bias"] = &Tensor{Shape: []int{32}, Data: make([]float32, 32)}
		}, ErrShapeMismatch, []string{`"encoder.layer.2.output.dense.bias"`, "num_hidden_layers 2"}},
		{"data shorter than shape", func(c *Checkpoint) {
			b := c.Tensors["embeddings.LayerNorm.bias"]
			b.Data = b.Data[:31]
		}, ErrCorrupt, []string{`"embeddings.LayerNorm.bias"`}},
		{"NaN weight", func(c *Checkpoint) { c.Tensors["pooler.dense.weight"].Data[5] = float32(math.NaN()) },
			ErrCorrupt, []string{`"pooler.dense.weight"`, "index 5"}},
		{"invalid config", func(c *Checkpoint) { c.Config.HiddenAct = "mish" },
			ErrUnsupported, []string{`"mish"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadDir(tinyDir)
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(c)
			err = c.Validate()
			if tt.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			requireError(t, err, tt.sentinel, tt.mentions...)
		})
	}
}

// TestSharedSSTBertTiny loads the project's shared checkpoint (a
// BertForMaskedLM without classifier) from both of its weight files.
func TestSharedSSTBertTiny(t *testing.T) {
	requireShared(t)
	fromSafetensors, err := LoadSafetensors(filepath.Join(sharedDir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	fromPyTorch, err := LoadPyTorch(filepath.Join(sharedDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, fromSafetensors, fromPyTorch)
	c, err := LoadDir(sharedDir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasPooler() || c.HasClassifier() {
		t.Errorf("pooler %v, classifier %v; want pooler only", c.HasPooler(), c.HasClassifier())
	}
	cfg := c.Config
	if cfg.HiddenSize != 128 || cfg.NumAttentionHeads != 2 || cfg.IntermediateSize != 512 || cfg.VocabSize != 30522 {
		t.Errorf("config %+v", cfg)
	}
	if w := c.Tensors["embeddings.word_embeddings.weight"]; len(w.Data) != 30522*128 {
		t.Errorf("word embeddings shape %v", w.Shape)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(context.Background(), tinyDir, DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.NumHiddenLayers != 2 {
		t.Errorf("config %+v", c.Config)
	}
	// A path that does not exist is reported as such, not looked up on the hub.
	_, err = Load(context.Background(), "./testdata/no-such-model", DownloadOptions{Endpoint: "http://127.0.0.1:1"})
	requireError(t, err, ErrNotFound, "no-such-model")
}
