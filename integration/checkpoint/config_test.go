package checkpoint

import (
	"path/filepath"
	"testing"
)

func TestParseConfig(t *testing.T) {
	const base = `"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 32`
	tests := []struct {
		name      string
		json      string
		sentinel  error  // nil: valid
		mentions  string // fragment of the error
		numLabels int
		eps       float64
	}{
		{name: "minimal bert", json: `{"model_type": "bert", ` + base + `}`, numLabels: 2, eps: 1e-12},
		{name: "eps given", json: `{"model_type": "bert", "layer_norm_eps": 1e-5, ` + base + `}`, numLabels: 2, eps: 1e-5},
		{name: "id2label", json: `{"model_type": "bert", "id2label": {"0": "a", "1": "b", "2": "c"}, ` + base + `}`, numLabels: 3, eps: 1e-12},
		{name: "num_labels key", json: `{"model_type": "bert", "num_labels": 5, ` + base + `}`, numLabels: 5, eps: 1e-12},
		{name: "old config without model_type", json: `{"architectures": ["BertForMaskedLM"], ` + base + `}`, numLabels: 2, eps: 1e-12},
		{name: "gpt2", json: `{"model_type": "gpt2", ` + base + `}`, sentinel: ErrUnsupported, mentions: `"gpt2"`},
		{name: "no model_type, no Bert architecture", json: `{"architectures": ["GPT2LMHeadModel"], ` + base + `}`, sentinel: ErrUnsupported, mentions: "GPT2LMHeadModel"},
		{name: "heads do not divide hidden", json: `{"model_type": "bert", ` + base + `, "num_attention_heads": 5}`, sentinel: ErrCorrupt, mentions: "divisible"},
		{name: "zero layers", json: `{"model_type": "bert", ` + base + `, "num_hidden_layers": 0}`, sentinel: ErrCorrupt, mentions: "num_hidden_layers"},
		{name: "negative vocab", json: `{"model_type": "bert", ` + base + `, "vocab_size": -3}`, sentinel: ErrCorrupt, mentions: "vocab_size"},
		{name: "unknown activation", json: `{"model_type": "bert", "hidden_act": "swish", ` + base + `}`, sentinel: ErrUnsupported, mentions: `"swish"`},
		{name: "zero eps", json: `{"model_type": "bert", "layer_norm_eps": 0, ` + base + `}`, sentinel: ErrCorrupt, mentions: "layer_norm_eps"},
		{name: "pad outside vocab", json: `{"model_type": "bert", "pad_token_id": 100, ` + base + `}`, sentinel: ErrCorrupt, mentions: "pad_token_id"},
		{name: "sparse id2label", json: `{"model_type": "bert", "id2label": {"0": "a", "7": "b"}, ` + base + `}`, sentinel: ErrCorrupt, mentions: "id2label"},
		{name: "not JSON", json: `{"model_type": `, sentinel: ErrCorrupt},
		{name: "wrong type", json: `{"model_type": "bert", "hidden_size": "big"}`, sentinel: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.json))
			if tt.sentinel != nil {
				requireError(t, err, tt.sentinel, tt.mentions)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.NumLabels() != tt.numLabels || c.LayerNormEps != tt.eps {
				t.Errorf("NumLabels %d, eps %g; want %d, %g", c.NumLabels(), c.LayerNormEps, tt.numLabels, tt.eps)
			}
			if c.HiddenAct != ActivationGELU || c.TypeVocabSize != 2 {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

func TestReadConfigTinyBERT(t *testing.T) {
	c, err := ReadConfig(filepath.Join(tinyDir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 32 || c.NumHiddenLayers != 2 || c.NumAttentionHeads != 4 || c.HeadSize() != 8 ||
		c.IntermediateSize != 64 || c.MaxPositionEmbeddings != 32 || c.TypeVocabSize != 2 ||
		c.NumLabels() != 3 || c.ID2Label[2] != "positive" || c.Label2ID["neutral"] != 1 ||
		c.LayerNormEps != 1e-12 || c.ModelType != "bert" || c.Architectures[0] != "BertForSequenceClassification" {
		t.Errorf("unexpected config %+v", c)
	}
}

func TestReadConfigMissing(t *testing.T) {
	_, err := ReadConfig(filepath.Join(t.TempDir(), ConfigFile))
	requireError(t, err, ErrNotFound, ConfigFile)
}
