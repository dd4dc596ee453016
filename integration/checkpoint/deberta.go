package checkpoint

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// DebertaConfig holds the keys of a DeBERTa-v2/v3 config.json (DebertaV2Config) that shape its
// attention, embeddings and head beyond Config, with transformers' defaults for absent keys.
type DebertaConfig struct {
	// RelativeAttention is relative_attention: the disentangled attention terms and the
	// encoder's rel_embeddings (default false).
	RelativeAttention bool
	// PositionBuckets is position_buckets (default −1: none); DeBERTa-v3 uses 256.
	PositionBuckets int
	// MaxRelativePositions is max_relative_positions, resolved as transformers does: a value
	// below 1 (the default −1) means max_position_embeddings.
	MaxRelativePositions int
	// C2P and P2C are the terms of pos_att_type, a list or a "p2c|c2p" string.
	C2P, P2C bool
	// ShareAttKey is share_att_key: the relative embeddings go through query_proj and key_proj
	// rather than pos_query_proj and pos_key_proj (default false).
	ShareAttKey bool
	// NormRelEmbeddings is set when norm_rel_ebd names layer_norm: the relative embeddings go
	// through encoder.LayerNorm (default "none").
	NormRelEmbeddings bool
	// PositionBiasedInput is position_biased_input: absolute position embeddings are added to
	// the word embeddings (default true; false in DeBERTa-v3).
	PositionBiasedInput bool
	// PoolerHiddenAct is pooler_hidden_act, the activation of the head's pooler: gelu (the
	// default), relu or tanh.
	PoolerHiddenAct string
	// PoolerDropout is pooler_dropout, applied to the first token before the pooler (default 0).
	PoolerDropout float64
}

// debertaFile is the JSON layout of DebertaConfig's keys.
type debertaFile struct {
	RelativeAttention    bool            `json:"relative_attention"`
	PositionBuckets      int             `json:"position_buckets"`
	MaxRelativePositions int             `json:"max_relative_positions"`
	PosAttType           json.RawMessage `json:"pos_att_type"`
	ShareAttKey          bool            `json:"share_att_key"`
	NormRelEbd           string          `json:"norm_rel_ebd"`
	PositionBiasedInput  bool            `json:"position_biased_input"`
	PoolerHiddenAct      string          `json:"pooler_hidden_act"`
	PoolerHiddenSize     *int            `json:"pooler_hidden_size"`
	PoolerDropout        float64         `json:"pooler_dropout"`
	ConvKernelSize       int             `json:"conv_kernel_size"`
	AttentionHeadSize    *int            `json:"attention_head_size"`
}

// Deberta reads the DeBERTa-v2 keys of the parsed config.json. It refuses what transformers
// would run differently from this package: a convolution layer (conv_kernel_size), a pooler width
// other than hidden_size, an attention_head_size other than hidden_size / num_attention_heads,
// unknown pos_att_type or norm_rel_ebd values and pooler activations.
func (c Config) Deberta() (DebertaConfig, error) {
	f := debertaFile{PositionBuckets: -1, MaxRelativePositions: -1, NormRelEbd: "none",
		PositionBiasedInput: true, PoolerHiddenAct: ActivationGELU}
	data, err := json.Marshal(c.fields)
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err != nil {
		return DebertaConfig{}, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	d := DebertaConfig{
		RelativeAttention: f.RelativeAttention, PositionBuckets: f.PositionBuckets,
		MaxRelativePositions: f.MaxRelativePositions, ShareAttKey: f.ShareAttKey,
		PositionBiasedInput: f.PositionBiasedInput, PoolerHiddenAct: f.PoolerHiddenAct,
		PoolerDropout: f.PoolerDropout,
	}
	if d.MaxRelativePositions < 1 {
		d.MaxRelativePositions = c.MaxPositionEmbeddings
	}
	terms, err := posAttTypes(f.PosAttType)
	if err != nil {
		return DebertaConfig{}, err
	}
	for _, t := range terms {
		switch t {
		case "c2p":
			d.C2P = true
		case "p2c":
			d.P2C = true
		default:
			return DebertaConfig{}, fmt.Errorf("%w: config: pos_att_type %q (supported: c2p, p2c)", ErrUnsupported, t)
		}
	}
	for _, n := range strings.Split(strings.ToLower(f.NormRelEbd), "|") {
		switch strings.TrimSpace(n) {
		case "layer_norm":
			d.NormRelEmbeddings = true
		case "none":
		default:
			return DebertaConfig{}, fmt.Errorf("%w: config: norm_rel_ebd %q (supported: none, layer_norm)", ErrUnsupported, f.NormRelEbd)
		}
	}
	switch {
	case f.ConvKernelSize > 0:
		return DebertaConfig{}, fmt.Errorf("%w: config: conv_kernel_size %d (DeBERTa's convolution layer is not supported)", ErrUnsupported, f.ConvKernelSize)
	case f.PoolerHiddenSize != nil && *f.PoolerHiddenSize != c.HiddenSize:
		return DebertaConfig{}, fmt.Errorf("%w: config: pooler_hidden_size %d differs from hidden_size %d", ErrUnsupported, *f.PoolerHiddenSize, c.HiddenSize)
	case f.AttentionHeadSize != nil && *f.AttentionHeadSize*c.NumAttentionHeads != c.HiddenSize:
		return DebertaConfig{}, fmt.Errorf("%w: config: attention_head_size %d × num_attention_heads %d differs from hidden_size %d",
			ErrUnsupported, *f.AttentionHeadSize, c.NumAttentionHeads, c.HiddenSize)
	case !(d.PoolerDropout >= 0 && d.PoolerDropout < 1):
		return DebertaConfig{}, fmt.Errorf("%w: config: pooler_dropout = %v, want a probability in [0, 1)", ErrCorrupt, d.PoolerDropout)
	case !slices.Contains([]string{ActivationGELU, ActivationReLU, "tanh"}, d.PoolerHiddenAct):
		return DebertaConfig{}, fmt.Errorf("%w: config: pooler_hidden_act %q (supported: gelu, relu, tanh)",
			ErrUnsupported, d.PoolerHiddenAct)
	}
	return d, nil
}

// posAttTypes reads pos_att_type: null, a list of names, or names joined by "|".
func posAttTypes(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		for i, t := range list {
			list[i] = strings.ToLower(strings.TrimSpace(t))
		}
		return list, nil
	}
	var joined string
	if err := json.Unmarshal(raw, &joined); err != nil {
		return nil, fmt.Errorf("%w: config: pos_att_type %s is neither a list nor a string", ErrCorrupt, raw)
	}
	for _, t := range strings.Split(strings.ToLower(joined), "|") {
		if t = strings.TrimSpace(t); t != "" {
			list = append(list, t)
		}
	}
	return list, nil
}

// debertaV2 is the entry of Architectures for DeBERTa-v2 and v3 (one model_type). Absolute
// positions and token types are those of DeBERTa-v3 (none); a config with
// position_biased_input or type_vocab_size > 0 gets them (see debertaArchitecture). The pooler
// is transformers' ContextPooler, outside the base model; its activation is the config's
// pooler_hidden_act, and its pooler_dropout (0 in DeBERTa's configs) is not applied.
var debertaV2 = &Architecture{
	ModelType: "deberta-v2", Prefix: "deberta", ClassPrefix: "DebertaV2",
	Positions: PositionsNone, Attention: AttentionDisentangled,
	Layers: LayerNames{
		Prefix: "encoder.layer",
		Query:  "attention.self.query_proj", Key: "attention.self.key_proj", Value: "attention.self.value_proj",
		AttentionOutput: "attention.output.dense", AttentionNorm: "attention.output.LayerNorm",
		Intermediate: "intermediate.dense", Output: "output.dense", OutputNorm: "output.LayerNorm",
	},
	Head:          HeadNames{Dense: "pooler.dense", Out: "classifier", Activation: HeadGELU},
	TopLevel:      []string{"pooler", "classifier"},
	TokenizerFile: SentencePieceFile,
}

// SentencePieceFile is the tokenizer file of DeBERTa-v2 and v3 checkpoints (read by
// hfjson.LoadDir with DebertaV2Tokenizer's pipeline).
const SentencePieceFile = "spm.model"

// Canonical names of DeBERTa's own tensors and modules.
const (
	// DebertaEmbedProj is embeddings.embed_proj, the projection (without bias) from
	// embedding_size to hidden_size that DeBERTa applies before the embeddings' LayerNorm.
	DebertaEmbedProj = "embeddings.embed_proj"
	// DebertaRelEmbeddings is the encoder's relative-position embedding table.
	DebertaRelEmbeddings = "encoder.rel_embeddings"
	// DebertaRelNorm is the LayerNorm of the relative embeddings (norm_rel_ebd layer_norm).
	DebertaRelNorm = "encoder.LayerNorm"
	// DebertaPosKey and DebertaPosQuery are a layer's projections of the relative embeddings
	// when share_att_key is off.
	DebertaPosKey   = "attention.self.pos_key_proj"
	DebertaPosQuery = "attention.self.pos_query_proj"
)

// debertaArchitecture returns DeBERTa's entry with the absolute positions, token types and
// pooler activation of this config.
func (c Config) debertaArchitecture(a *Architecture) *Architecture {
	cp := *a
	cp.TokenTypes = c.TypeVocabSize > 0
	if d, err := c.Deberta(); err == nil {
		if d.PositionBiasedInput {
			cp.Positions = PositionsAbsolute
		}
		cp.Head.Activation = HeadActivation(d.PoolerHiddenAct)
	}
	return &cp
}

// debertaShapes corrects the shapes expectedShapes lists for a DeBERTa config: the embeddings'
// LayerNorm is of the hidden size, after embed_proj (no bias), and the relative embeddings, their
// LayerNorm and the separate position projections are added as the config has them. The config
// has passed Validate, which checks its DeBERTa keys.
func (c *Checkpoint) debertaShapes(want map[string][]int) {
	cfg := c.Config
	d, _ := cfg.Deberta()
	h, e := cfg.HiddenSize, cfg.EmbeddingWidth()
	delete(want, EmbeddingsProject+".weight")
	delete(want, EmbeddingsProject+".bias")
	want["embeddings.LayerNorm.weight"], want["embeddings.LayerNorm.bias"] = []int{h}, []int{h}
	if e != h {
		want[DebertaEmbedProj+".weight"] = []int{h, e}
	}
	if !d.RelativeAttention {
		return
	}
	span := d.MaxRelativePositions
	if d.PositionBuckets > 0 {
		span = d.PositionBuckets
	}
	want[DebertaRelEmbeddings+".weight"] = []int{2 * span, h}
	if d.NormRelEmbeddings {
		want[DebertaRelNorm+".weight"], want[DebertaRelNorm+".bias"] = []int{h}, []int{h}
	}
	for i := range cfg.NumHiddenLayers {
		for _, p := range []struct {
			on   bool
			name string
		}{{d.C2P, DebertaPosKey}, {d.P2C, DebertaPosQuery}} {
			if p.on && !d.ShareAttKey {
				name := debertaV2.LayerModule(i, p.name)
				want[name+".weight"], want[name+".bias"] = []int{h, h}, []int{h}
			}
		}
	}
}
