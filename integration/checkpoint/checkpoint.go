package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names of a Hugging Face model directory.
const (
	ConfigFile          = "config.json"
	VocabFile           = "vocab.txt"
	TokenizerConfigFile = "tokenizer_config.json"
	SafetensorsFile     = "model.safetensors"
	PyTorchFile         = "pytorch_model.bin"
	// SpagoFile is the gob cybertron's converter writes next to
	// pytorch_model.bin.
	SpagoFile = "spago_model.bin"
)

// Checkpoint is a loaded BERT checkpoint: its config and its parameters as
// float32 tensors keyed by canonical Hugging Face name (see package doc).
type Checkpoint struct {
	Config  Config
	Tensors map[string]*Tensor
}

// LoadDir loads a local Hugging Face model directory: config.json and the
// weights of model.safetensors, else pytorch_model.bin, else cybertron's
// spago_model.bin. The result has passed Validate.
func LoadDir(dir string) (*Checkpoint, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fileError(dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotFound, dir)
	}
	cfg, err := ReadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	tensors, err := loadWeights(dir, cfg)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Config: cfg, Tensors: tensors}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, nil
}

// loadWeights reads the first weights file present in dir.
func loadWeights(dir string, cfg Config) (map[string]*Tensor, error) {
	exists := func(name string) bool {
		info, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !info.IsDir()
	}
	switch {
	case exists(SafetensorsFile):
		return LoadSafetensors(filepath.Join(dir, SafetensorsFile))
	case exists(PyTorchFile):
		return LoadPyTorch(filepath.Join(dir, PyTorchFile))
	case exists(SpagoFile):
		return loadSpago(filepath.Join(dir, SpagoFile), cfg.Architectures)
	case exists(SafetensorsFile + ".index.json"), exists(PyTorchFile + ".index.json"):
		return nil, fmt.Errorf("%w: %s: sharded checkpoints are not supported", ErrUnsupported, dir)
	default:
		return nil, fmt.Errorf("%w: %s has none of %s, %s, %s", ErrNotFound, dir, SafetensorsFile, PyTorchFile, SpagoFile)
	}
}

// Load loads nameOrDir as a local directory if one exists there, else as a
// Hugging Face hub repository (downloaded with Download). Paths that are
// absolute or start with "." are never looked up on the hub.
func Load(ctx context.Context, nameOrDir string, opts DownloadOptions) (*Checkpoint, error) {
	if info, err := os.Stat(nameOrDir); err == nil && info.IsDir() {
		return LoadDir(nameOrDir)
	}
	if filepath.IsAbs(nameOrDir) || strings.HasPrefix(nameOrDir, ".") {
		return nil, fmt.Errorf("%w: directory %s", ErrNotFound, nameOrDir)
	}
	dir, err := Download(ctx, nameOrDir, opts)
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// HasPooler reports whether the checkpoint has the pooler (a BertForMaskedLM
// checkpoint, for example, may not).
func (c *Checkpoint) HasPooler() bool { return c.Tensors["pooler.dense.weight"] != nil }

// HasClassifier reports whether the checkpoint has the output layer of a
// sequence classification head (classifier.weight for BERT,
// classifier.out_proj.weight for RoBERTa: the architecture's Head.Out).
func (c *Checkpoint) HasClassifier() bool {
	return c.Tensors[c.Config.Architecture().Head.Out+".weight"] != nil
}

// HasTokenClassifier reports whether the checkpoint is a token classifier's: a plain linear
// classifier (classifier.weight) and no dense layer of the sequence head, as every
// …ForTokenClassification of the family has (no pooler, no classifier.dense, no pre_classifier).
func (c *Checkpoint) HasTokenClassifier() bool {
	return c.Tensors[TokenClassifier+".weight"] != nil && !c.HasHeadDense()
}

// HasHeadDense reports whether the checkpoint has the dense layer of its
// architecture's head (Head.Dense: BERT's pooler, DistilBERT's
// pre_classifier, RoBERTa's classifier.dense).
func (c *Checkpoint) HasHeadDense() bool {
	return c.Tensors[c.Config.Architecture().Head.Dense+".weight"] != nil
}

// Validate checks the tensors against the config: every tensor the encoder
// needs is present with the shape the config implies, the optional pooler and
// classifier are complete and well shaped, no encoder layer lies beyond
// NumHiddenLayers, and no value is NaN or infinite. Errors name the tensor
// and both shapes.
func (c *Checkpoint) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	want := c.expectedShapes()
	for _, name := range sortedKeys(want) {
		if c.Tensors[name] == nil {
			return fmt.Errorf("%w: tensor %q (shape %v) is missing", ErrNotFound, name, want[name])
		}
	}
	for _, name := range sortedKeys(c.Tensors) {
		t := c.Tensors[name]
		if shape, ok := want[name]; ok && !slices.Equal(t.Shape, shape) {
			return fmt.Errorf("%w: tensor %q has shape %v, config implies %v", ErrShapeMismatch, name, t.Shape, shape)
		}
		if layer, ok := c.layerIndex(name); ok && layer >= c.Config.NumHiddenLayers {
			return fmt.Errorf("%w: tensor %q belongs to layer %d but config has num_hidden_layers %d",
				ErrShapeMismatch, name, layer, c.Config.NumHiddenLayers)
		}
		if n, ok := numel(t.Shape, math.MaxInt); !ok || n != len(t.Data) {
			return fmt.Errorf("%w: tensor %q has shape %v but %d values", ErrCorrupt, name, t.Shape, len(t.Data))
		}
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: tensor %q has non-finite value %v at index %d", ErrCorrupt, name, v, i)
			}
		}
	}
	return nil
}

// expectedShapes lists the tensors the config implies: all of the encoder,
// plus the head's dense and output layers when either of their tensors is
// present.
func (c *Checkpoint) expectedShapes() map[string][]int {
	cfg := c.Config
	a := cfg.Architecture()
	h, e, ffn := cfg.HiddenSize, cfg.EmbeddingWidth(), cfg.IntermediateSize
	want := map[string][]int{
		"embeddings.word_embeddings.weight": {cfg.VocabSize, e},
		"embeddings.LayerNorm.weight":       {e},
		"embeddings.LayerNorm.bias":         {e},
	}
	if a.Positions != PositionsNone {
		want["embeddings.position_embeddings.weight"] = []int{cfg.MaxPositionEmbeddings, e}
	}
	if a.TokenTypes {
		want["embeddings.token_type_embeddings.weight"] = []int{cfg.TypeVocabSize, e}
	}
	linear := func(prefix string, out, in int) {
		want[prefix+".weight"] = []int{out, in}
		want[prefix+".bias"] = []int{out}
	}
	norm := func(prefix string) {
		want[prefix+".weight"] = []int{h}
		want[prefix+".bias"] = []int{h}
	}
	if e != h {
		linear(EmbeddingsProject, h, e)
	}
	n := a.Layers
	for i := range cfg.NumHiddenLayers {
		linear(a.LayerModule(i, n.Query), h, h)
		linear(a.LayerModule(i, n.Key), h, h)
		linear(a.LayerModule(i, n.Value), h, h)
		linear(a.LayerModule(i, n.AttentionOutput), h, h)
		norm(a.LayerModule(i, n.AttentionNorm))
		linear(a.LayerModule(i, n.Intermediate), ffn, h)
		linear(a.LayerModule(i, n.Output), h, ffn)
		norm(a.LayerModule(i, n.OutputNorm))
	}
	present := func(prefix string) bool {
		return c.Tensors[prefix+".weight"] != nil || c.Tensors[prefix+".bias"] != nil
	}
	if present(a.Head.Dense) {
		linear(a.Head.Dense, h, h)
	}
	if present(a.Head.Out) {
		linear(a.Head.Out, cfg.NumLabels(), h)
	}
	if a.Attention == AttentionDisentangled {
		c.debertaShapes(want)
	}
	return want
}

// EmbeddingsProject is the canonical name of ELECTRA's embeddings_project, the linear layer
// from the embedding width to the hidden size that a checkpoint has when they differ.
const EmbeddingsProject = "embeddings_project"

// layerIndex returns N for a tensor of encoder layer N.
func (c *Checkpoint) layerIndex(name string) (int, bool) {
	return c.Config.Architecture().layerIndex(name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fileError wraps an error from opening or reading path, mapping a missing
// file to ErrNotFound.
func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	return fmt.Errorf("%s: %w", path, err)
}
