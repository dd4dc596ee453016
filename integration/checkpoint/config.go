package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Config is the subset of the Hugging Face BertConfig (config.json) that a
// BERT encoder needs, and the same for the other members of the family
// (Architectures): their config.json keys are read into these fields (for
// DistilBERT, "dim" is HiddenSize, "n_layers" NumHiddenLayers, and so on).
// Fields absent from the file take the BertConfig defaults.
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
	// TypeVocabSize is the number of token types; 0 for an architecture
	// without token type embeddings (DistilBERT).
	TypeVocabSize int `json:"type_vocab_size"`
	// EmbeddingSize is the width of ELECTRA's embeddings when it differs
	// from HiddenSize (embeddings_project maps them to HiddenSize); 0 means
	// HiddenSize.
	EmbeddingSize int `json:"embedding_size,omitempty"`
	// LayerNormEps is the epsilon of every LayerNorm (default 1e-12).
	LayerNormEps float64 `json:"layer_norm_eps"`
	// ModelType is the ModelType of an entry of Architectures ("bert",
	// "roberta", "xlm-roberta", "distilbert", "electra"), or empty in old
	// configs whose Architectures name a class of one.
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
	defaultNumLabels = 2
	modelTypeBERT    = "bert"
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
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	file := struct {
		Config
		NumLabels int `json:"num_labels"`
	}{Config: defaultConfig()}
	if err := json.Unmarshal(data, &file); err != nil {
		return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	if a, ok := file.Config.lookupArchitecture(); ok && len(a.ConfigKeys) > 0 {
		// Read the architecture's own keys into the fields of their BertConfig names.
		renamed := map[string]json.RawMessage{}
		for key, v := range fields {
			renamed[key] = v
		}
		for std, own := range a.ConfigKeys {
			delete(renamed, std)
			if v, ok := fields[own]; ok && own != "" {
				renamed[std] = v
			}
		}
		data, _ := json.Marshal(renamed)
		file.Config = defaultConfig()
		if err := json.Unmarshal(data, &file); err != nil {
			return Config{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
		}
		if _, ok := a.ConfigKeys["type_vocab_size"]; ok && !a.TokenTypes {
			file.TypeVocabSize = 0
		}
		if a.FixedLayerNormEps != 0 {
			file.LayerNormEps = a.FixedLayerNormEps
		}
	}
	c := file.Config
	c.numLabels = file.NumLabels
	c.fields = fields
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

// Validate reports whether the config describes an encoder this package
// supports: a model type of Architectures, positive sizes, hidden size
// divisible by the number of heads, a known activation and a positive
// LayerNorm epsilon. Sizes are named by the architecture's config.json keys.
func (c Config) Validate() error {
	if err := c.validateModelType(); err != nil {
		return err
	}
	a := c.Architecture()
	if a.Attention == AttentionDisentangled {
		if _, err := c.Deberta(); err != nil {
			return err
		}
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
	}
	if a.TokenTypes {
		sizes = append(sizes, struct {
			name  string
			value int
		}{"type_vocab_size", c.TypeVocabSize})
	}
	for _, s := range sizes {
		if s.value <= 0 {
			return fmt.Errorf("%w: config: %s = %d, want > 0", ErrCorrupt, a.key(s.name), s.value)
		}
	}
	if c.EmbeddingSize < 0 {
		return fmt.Errorf("%w: config: embedding_size = %d, want > 0", ErrCorrupt, c.EmbeddingSize)
	}
	if a.Positions == PositionsPaddingOffset && c.PadTokenID+1 >= c.MaxPositionEmbeddings {
		return fmt.Errorf("%w: config: pad_token_id %d leaves no positions of max_position_embeddings %d (positions start at pad_token_id + 1)",
			ErrCorrupt, c.PadTokenID, c.MaxPositionEmbeddings)
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("%w: config: %s %d is not divisible by %s %d",
			ErrCorrupt, a.key("hidden_size"), c.HiddenSize, a.key("num_attention_heads"), c.NumAttentionHeads)
	}
	switch c.HiddenAct {
	case ActivationGELU, ActivationGELUNew, ActivationGELUTanh, ActivationReLU:
	default:
		return fmt.Errorf("%w: config: %s %q (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)",
			ErrUnsupported, a.key("hidden_act"), c.HiddenAct)
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
	if _, ok := c.lookupArchitecture(); ok {
		return nil
	}
	if c.ModelType == "" {
		return fmt.Errorf("%w: config: no model_type and architectures %q name no class of a supported model type (%s)",
			ErrUnsupported, c.Architectures, modelTypes())
	}
	return fmt.Errorf("%w: config: model_type %q (supported: %s)", ErrUnsupported, c.ModelType, modelTypes())
}

// Architecture returns the entry of Architectures the config describes; BERT's for a config
// that fails Validate.
func (c Config) Architecture() *Architecture {
	if a, ok := c.lookupArchitecture(); ok {
		if a.Attention == AttentionDisentangled {
			return c.debertaArchitecture(a)
		}
		return a
	}
	return Architectures[0]
}

// lookupArchitecture finds the entry of model_type, or for an old config without one, the entry
// whose classes its architectures name (BertForSequenceClassification: bert).
func (c Config) lookupArchitecture() (*Architecture, bool) {
	if c.ModelType != "" {
		return ArchitectureOf(c.ModelType)
	}
	for _, name := range c.Architectures {
		for _, a := range Architectures {
			if strings.HasPrefix(name, a.ClassPrefix) {
				return a, true
			}
		}
	}
	return nil, false
}

// MaxTokens is the length of the longest sequence the position embeddings admit:
// MaxPositionEmbeddings, less pad_token_id + 1 for RoBERTa's positions, which start there.
func (c Config) MaxTokens() int {
	if c.Architecture().Positions == PositionsPaddingOffset {
		return c.MaxPositionEmbeddings - c.PadTokenID - 1
	}
	return c.MaxPositionEmbeddings
}

// EmbeddingWidth is the width of the embedding tables: EmbeddingSize, or HiddenSize when unset.
func (c Config) EmbeddingWidth() int {
	if c.EmbeddingSize > 0 {
		return c.EmbeddingSize
	}
	return c.HiddenSize
}

// key returns the architecture's config.json key of a BertConfig key.
func (a *Architecture) key(std string) string {
	if own, ok := a.ConfigKeys[std]; ok && own != "" {
		return own
	}
	return std
}
