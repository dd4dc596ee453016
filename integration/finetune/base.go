package finetune

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// Shape of the offline default base: small enough to train in seconds on two cores, with the
// architecture of a real BERT.
const (
	defaultBaseLayers       = 2
	defaultBaseHidden       = 128
	defaultBaseHeads        = 2
	defaultBaseIntermediate = 512
	defaultBaseMaxPositions = 128
	// defaultBaseSeed fixes the random weights, so that every run (and `predict` on a saved
	// adapter) rebuilds the same base.
	defaultBaseSeed = 20240527
	// initStd is transformers' initializer_range: BERT's weights start as N(0, 0.02²).
	initStd = 0.02
)

// DefaultBaseName stands for the offline default base where a model name is expected: in
// Job.Model, in LoadBase, and as base_model_name_or_path of the adapters trained on it. No hub
// repository has this name; the base is rebuilt from the code.
const DefaultBaseName = "spago-peft/offline-default-bert"

// DefaultBaseDescription says plainly what the offline default base is.
var DefaultBaseDescription = fmt.Sprintf("offline default: a %d-layer BERT (hidden %d, %d heads) with RANDOM weights, not pretrained, "+
	"and a WordPiece vocabulary built from the embedded sample", defaultBaseLayers, defaultBaseHidden, defaultBaseHeads)

// wordSuffixes are word pieces added to the default vocabulary so that words missing from the
// sample split into a stem and a common ending rather than into single letters.
var wordSuffixes = []string{"s", "es", "ed", "ing", "ly", "er", "est", "ness", "ful", "less", "y"}

// DefaultBase builds the offline default base: a small BERT whose weights are drawn from a fixed
// seed (normal with standard deviation 0.02, LayerNorm gains 1, biases 0, as transformers
// initialises BERT), with a pooler and no classifier, and an uncased WordPiece tokenizer whose
// vocabulary is derived from the embedded sample's training sentences. The result is the same on
// every call. It is NOT a pretrained model: use it to try the code, not to judge a method.
func DefaultBase() (*checkpoint.Checkpoint, *tokenizer.Tokenizer, error) {
	train, _, err := Sample()
	if err != nil {
		return nil, nil, err
	}
	texts := make([]string, len(train))
	for i, e := range train {
		texts[i] = e.Text
	}
	vocab := buildVocab(texts)
	tok, err := tokenizer.New(vocab, tokenizer.Options{DoLowerCase: true})
	if err != nil {
		return nil, nil, fmt.Errorf("finetune: default base tokenizer: %w", err)
	}
	cfg, err := checkpoint.ParseConfig(fmt.Appendf(nil, `{"model_type": "bert", "architectures": ["BertModel"],
		"vocab_size": %d, "hidden_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
		"intermediate_size": %d, "hidden_act": "gelu", "max_position_embeddings": %d,
		"type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}`,
		len(vocab), defaultBaseHidden, defaultBaseLayers, defaultBaseHeads, defaultBaseIntermediate, defaultBaseMaxPositions))
	if err != nil {
		return nil, nil, fmt.Errorf("finetune: default base config: %w", err)
	}
	ck := &checkpoint.Checkpoint{Config: cfg, Tensors: randomWeights(cfg)}
	if err := ck.Validate(); err != nil {
		return nil, nil, fmt.Errorf("finetune: default base: %w", err)
	}
	return ck, tok, nil
}

// buildVocab returns a WordPiece vocabulary for texts: the special tokens, every printable ASCII
// character that lower-casing keeps and its "##" continuation, common word endings, then every
// lower-cased ASCII word of texts, most frequent first (ties in alphabetical order). Any text
// can be tokenised with it; words of texts are single tokens.
func buildVocab(texts []string) []string {
	vocab := []string{tokenizer.PadToken, tokenizer.UnkToken, tokenizer.ClsToken, tokenizer.SepToken, tokenizer.MaskToken}
	seen := map[string]bool{}
	add := func(tok string) {
		if !seen[tok] {
			seen[tok] = true
			vocab = append(vocab, tok)
		}
	}
	for c := byte('!'); c <= '~'; c++ {
		if c < 'A' || c > 'Z' {
			add(string(c))
		}
	}
	for c := byte('!'); c <= '~'; c++ {
		if isWordByte(c) {
			add("##" + string(c))
		}
	}
	for _, s := range wordSuffixes {
		add("##" + s)
	}
	counts := map[string]int{}
	for _, t := range texts {
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return r >= 128 || !isWordByte(byte(r)) }) {
			counts[w]++
		}
	}
	words := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(counts[b]-counts[a], strings.Compare(a, b))
	})
	for _, w := range words {
		add(w)
	}
	return vocab
}

// isWordByte reports whether c is a lower-case ASCII letter or a digit.
func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// randomWeights draws every tensor of a BERT with config cfg (encoder and pooler) as transformers'
// BertPreTrainedModel._init_weights does: weights N(0, 0.02²), biases 0, LayerNorm 1 and 0, the
// padding row of the word embeddings 0.
func randomWeights(cfg checkpoint.Config) map[string]*checkpoint.Tensor {
	rng := rand.New(rand.NewPCG(defaultBaseSeed, 0xba5e))
	tensors := map[string]*checkpoint.Tensor{}
	normal := func(name string, std float64, shape ...int) *checkpoint.Tensor {
		t := &checkpoint.Tensor{Shape: shape, Data: make([]float32, shape[0]*shape[len(shape)-1])}
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * std)
		}
		tensors[name] = t
		return t
	}
	constant := func(name string, n int, v float32) {
		t := &checkpoint.Tensor{Shape: []int{n}, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = v
		}
		tensors[name] = t
	}
	linear := func(prefix string, out, in int) {
		normal(prefix+".weight", linearStd(in), out, in)
		constant(prefix+".bias", out, 0)
	}
	norm := func(prefix string) {
		constant(prefix+".weight", cfg.HiddenSize, 1)
		constant(prefix+".bias", cfg.HiddenSize, 0)
	}
	h := cfg.HiddenSize
	word := normal("embeddings.word_embeddings.weight", initStd, cfg.VocabSize, h)
	clear(word.Data[cfg.PadTokenID*h : (cfg.PadTokenID+1)*h])
	normal("embeddings.position_embeddings.weight", initStd, cfg.MaxPositionEmbeddings, h)
	normal("embeddings.token_type_embeddings.weight", initStd, cfg.TypeVocabSize, h)
	norm("embeddings.LayerNorm")
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		linear(p+"attention.self.query", h, h)
		linear(p+"attention.self.key", h, h)
		linear(p+"attention.self.value", h, h)
		linear(p+"attention.output.dense", h, h)
		norm(p + "attention.output.LayerNorm")
		linear(p+"intermediate.dense", cfg.IntermediateSize, h)
		linear(p+"output.dense", h, cfg.IntermediateSize)
		norm(p + "output.LayerNorm")
	}
	linear("pooler.dense", h, h)
	return tensors
}

// linearStd is the standard deviation of a linear layer's random weights: 1/√fan_in (LeCun
// normal), so that each layer keeps the scale of its input. transformers' 0.02 would shrink every
// attention and feed-forward output to a few percent of the residual stream at hidden size 128,
// and the [CLS] token of an untrained encoder would then carry almost nothing of the other words:
// not even full fine-tuning of the head could then learn from it.
func linearStd(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
