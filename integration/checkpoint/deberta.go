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
	// PoolerHiddenAct is pooler_hidden_act, the activation of the head's pooler (default gelu).
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
	case !slices.Contains([]string{ActivationGELU, ActivationGELUNew, ActivationGELUTanh, ActivationReLU, "tanh"}, d.PoolerHiddenAct):
		return DebertaConfig{}, fmt.Errorf("%w: config: pooler_hidden_act %q (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, tanh)",
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
