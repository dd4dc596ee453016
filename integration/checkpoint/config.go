package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Config is the subset of the Hugging Face BertConfig (config.json) that a
// BERT encoder needs. Fields absent from the file take the BertConfig
// defaults, as in transformers.
type Config struct {
	VocabSize         int `json:"vocab_size"`
	HiddenSize        int `json:"hidden_size"`
	NumHiddenLayers   int `json:"num_hidden_layers"`
	NumAttentionHeads int `json:"num_attention_heads"`
	IntermediateSize  int `json:"intermediate_size"`
	// HiddenAct is the feed-forward activation: "gelu" (exact, erf based),
	// "gelu_new" or "gelu_pytorch_tanh" (both the tanh approximation), or
	// "relu".
	HiddenAct             string `json:"hidden_act"`
	MaxPositionEmbeddings int    `json:"max_position_embeddings"`
	TypeVocabSize         int    `json:"type_vocab_size"`
	// LayerNormEps is the epsilon of every LayerNorm (default 1e-12).
	LayerNormEps float64 `json:"layer_norm_eps"`
	// ModelType is "bert", or empty in old configs whose Architectures name
	// a Bert class.
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	// ID2Label maps class index to label name; Label2ID is its inverse.
	ID2Label   map[int]string `json:"id2label"`
	Label2ID   map[string]int `json:"label2id"`
	PadTokenID int            `json:"pad_token_id"`

	// numLabels is the "num_labels" key some hand-written configs use
	// instead of id2label; see NumLabels.
	numLabels int
	// fields holds every key of the parsed config.json, so that WriteDir
	// keeps the ones this struct does not model (hidden_dropout_prob,
	// position_embedding_type, problem_type, …).
	fields map[string]json.RawMessage
}

// Activation names accepted in Config.HiddenAct.
const (
	ActivationGELU     = "gelu"              // exact: x·Φ(x) with erf
	ActivationGELUNew  = "gelu_new"          // tanh approximation
	ActivationGELUTanh = "gelu_pytorch_tanh" // tanh approximation
	ActivationReLU     = "relu"
)

const (
	defaultNumLabels       = 2
	modelTypeBERT          = "bert"
	bertArchitecturePrefix = "Bert"
)

// defaultConfig returns the transformers BertConfig defaults.
func defaultConfig() Config {
	return Config{
		VocabSize:             30522,
		HiddenSize:            768,
		NumHiddenLayers:       12,
		NumAttentionHeads:     12,
		IntermediateSize:      3072,
		HiddenAct:             ActivationGELU,
		MaxPositionEmbeddings: 512,
		TypeVocabSize:         2,
		LayerNormEps:          1e-12,
	}
}

// ParseConfig parses the JSON of a Hugging Face config.json and validates it.
func ParseConfig(data []byte) (Config, error) {
	file := struct {
		Config
		NumLabels int `json:"num_labels"`
	}{Config: defaultConfig()}
	if err := json.Unmarshal(data, &file); err != nil {
		return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	c := file.Config
	c.numLabels = file.NumLabels
	if err := json.Unmarshal(data, &c.fields); err != nil {
		return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ReadConfig reads and validates a config.json file.
func ReadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fileError(path, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// NumLabels is the number of classifier outputs: len(ID2Label), else the
// "num_labels" key, else 2 (the transformers default).
func (c Config) NumLabels() int {
	switch {
	case len(c.ID2Label) > 0:
		return len(c.ID2Label)
	case c.numLabels > 0:
		return c.numLabels
	default:
		return defaultNumLabels
	}
}

// HeadSize is HiddenSize / NumAttentionHeads.
func (c Config) HeadSize() int { return c.HiddenSize / c.NumAttentionHeads }

// Validate reports whether the config describes a BERT encoder this package
// supports: model type bert, positive sizes, hidden size divisible by the
// number of heads, a known activation and a positive LayerNorm epsilon.
func (c Config) Validate() error {
	if err := c.validateModelType(); err != nil {
		return err
	}
	sizes := []struct {
		name  string
		value int
	}{
		{"vocab_size", c.VocabSize},
		{"hidden_size", c.HiddenSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
		{"type_vocab_size", c.TypeVocabSize},
	}
	for _, s := range sizes {
		if s.value <= 0 {
			return fmt.Errorf("%w: config: %s = %d, want > 0", ErrCorrupt, s.name, s.value)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("%w: config: hidden_size %d is not divisible by num_attention_heads %d",
			ErrCorrupt, c.HiddenSize, c.NumAttentionHeads)
	}
	switch c.HiddenAct {
	case ActivationGELU, ActivationGELUNew, ActivationGELUTanh, ActivationReLU:
	default:
		return fmt.Errorf("%w: config: hidden_act %q (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)",
			ErrUnsupported, c.HiddenAct)
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("%w: config: layer_norm_eps = %g, want > 0", ErrCorrupt, c.LayerNormEps)
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		return fmt.Errorf("%w: config: pad_token_id %d outside vocabulary [0, %d)", ErrCorrupt, c.PadTokenID, c.VocabSize)
	}
	for id := range c.ID2Label {
		if id < 0 || id >= len(c.ID2Label) {
			return fmt.Errorf("%w: config: id2label has id %d, want ids 0..%d", ErrCorrupt, id, len(c.ID2Label)-1)
		}
	}
	return nil
}

func (c Config) validateModelType() error {
	switch c.ModelType {
	case modelTypeBERT:
		return nil
	case "":
		for _, a := range c.Architectures {
			if strings.HasPrefix(a, bertArchitecturePrefix) {
				return nil
			}
		}
		return fmt.Errorf("%w: config: no model_type and architectures %q name no Bert class", ErrUnsupported, c.Architectures)
	default:
		return fmt.Errorf("%w: config: model_type %q (only \"bert\" is supported)", ErrUnsupported, c.ModelType)
	}
}
