package checkpoint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Architecture describes one member of the BERT family as its Hugging Face checkpoints lay it
// out: the names of its modules and the variants of its embeddings, attention and
// classification head. Canonical tensor names (see the package doc) are the names of the base
// model without its prefix ("encoder.layer.0.attention.self.query.weight" for BERT,
// "transformer.layer.0.attention.q_lin.weight" for DistilBERT) and the head's names as they are
// ("classifier.weight", "classifier.out_proj.weight", "pre_classifier.weight").
//
// Adding a member of the family is an entry of Architectures plus, in package bert, the
// computation of any variant it is the first to use.
type Architecture struct {
	// ModelType is config.json's model_type ("bert", "roberta", …).
	ModelType string
	// Prefix is transformers' base_model_prefix ("bert", "roberta"): the first part of the
	// stored name of every tensor of the base model inside a …ForSequenceClassification
	// checkpoint, and of the module names PEFT writes.
	Prefix string
	// ClassPrefix names the transformers classes: ClassPrefix+"Model",
	// ClassPrefix+"ForSequenceClassification".
	ClassPrefix string
	// Positions is how position ids are made.
	Positions PositionKind
	// TokenTypes is set when the embeddings have a token type table.
	TokenTypes bool
	// Attention is the self-attention variant.
	Attention AttentionKind
	// Layers names the modules of encoder layer i: Layers.Prefix + "." + i + "." + the name.
	Layers LayerNames
	// Head names the sequence classification head.
	Head HeadNames
	// TopLevel lists the module roots outside the base model (no Prefix in stored names).
	TopLevel []string
	// ConfigKeys maps the json keys of Config's fields to this architecture's keys in
	// config.json where they differ ("hidden_size" → "dim" for DistilBERT); an empty value means
	// the key does not exist for this architecture (its field keeps the default).
	ConfigKeys map[string]string
	// FixedLayerNormEps, when not zero, is the epsilon of every LayerNorm, which the
	// architecture's config does not hold (DistilBERT's 1e-12).
	FixedLayerNormEps float64
	// TokenizerFile is the tokenizer file Download fetches: VocabFile (WordPiece) or
	// TokenizerJSONFile (RoBERTa's byte-level BPE, XLM-R's Unigram).
	TokenizerFile string
}

// TokenizerJSONFile is the tokenizer file of Hugging Face's fast tokenizers.
const TokenizerJSONFile = "tokenizer.json"

// PositionKind is an embedding variant: how position ids are made.
type PositionKind int

const (
	// PositionsAbsolute numbers the tokens of a sequence 0, 1, … (BERT).
	PositionsAbsolute PositionKind = iota
	// PositionsPaddingOffset numbers the non-padding tokens padding_idx+1, padding_idx+2, … and
	// gives padding tokens padding_idx (RoBERTa's create_position_ids_from_input_ids).
	PositionsPaddingOffset
	// PositionsNone has no absolute position embeddings (a relative-position attention holds
	// the positions).
	PositionsNone
)

// AttentionKind is an attention variant.
type AttentionKind int

const (
	// AttentionScaledDot is BERT's multi-head scaled dot-product self-attention.
	AttentionScaledDot AttentionKind = iota
	// AttentionDisentangled is DeBERTa-v2's disentangled self-attention with relative positions.
	AttentionDisentangled
)

// HeadActivation is the activation between the head's dense layer and its output layer.
type HeadActivation string

// Head activations.
const (
	HeadTanh HeadActivation = "tanh"
	HeadGELU HeadActivation = "gelu"
	HeadReLU HeadActivation = "relu"
)

// LayerNames are the module names of an encoder layer, relative to the layer.
type LayerNames struct {
	// Prefix is the name of the layer list ("encoder.layer").
	Prefix                              string
	Query, Key, Value, AttentionOutput  string
	AttentionNorm, Intermediate, Output string
	OutputNorm                          string
}

// HeadNames are the module names of the sequence classification head: Out(Activation(Dense(x)))
// on the first token's hidden state.
type HeadNames struct {
	// Dense is the hidden×hidden layer on the first token: BERT's pooler.dense (part of the base
	// model), RoBERTa's classifier.dense, DistilBERT's pre_classifier.
	Dense string
	// Out is the labels×hidden output layer.
	Out        string
	Activation HeadActivation
	// DropoutFirst is set when dropout also applies to the first token's hidden state before
	// Dense (RobertaClassificationHead); dropout always applies before Out.
	DropoutFirst bool
}

// bertLayers are the module names of BERT's encoder layers, which RoBERTa and ELECTRA share.
var bertLayers = LayerNames{
	Prefix: "encoder.layer",
	Query:  "attention.self.query", Key: "attention.self.key", Value: "attention.self.value",
	AttentionOutput: "attention.output.dense", AttentionNorm: "attention.output.LayerNorm",
	Intermediate: "intermediate.dense", Output: "output.dense", OutputNorm: "output.LayerNorm",
}

// robertaHead is RobertaClassificationHead.
var robertaHead = HeadNames{Dense: "classifier.dense", Out: "classifier.out_proj", Activation: HeadTanh, DropoutFirst: true}

// Architectures are the supported members of the BERT family, by model_type.
var Architectures = []*Architecture{
	{
		ModelType: "bert", Prefix: "bert", ClassPrefix: "Bert",
		Positions: PositionsAbsolute, TokenTypes: true, Layers: bertLayers,
		Head:     HeadNames{Dense: "pooler.dense", Out: "classifier", Activation: HeadTanh},
		TopLevel: []string{"classifier"}, TokenizerFile: VocabFile,
	},
	{
		ModelType: "roberta", Prefix: "roberta", ClassPrefix: "Roberta",
		Positions: PositionsPaddingOffset, TokenTypes: true, Layers: bertLayers,
		Head: robertaHead, TopLevel: []string{"classifier"}, TokenizerFile: TokenizerJSONFile,
	},
	{
		ModelType: "xlm-roberta", Prefix: "roberta", ClassPrefix: "XLMRoberta",
		Positions: PositionsPaddingOffset, TokenTypes: true, Layers: bertLayers,
		Head: robertaHead, TopLevel: []string{"classifier"}, TokenizerFile: TokenizerJSONFile,
	},
	{
		ModelType: "distilbert", Prefix: "distilbert", ClassPrefix: "DistilBert",
		Positions: PositionsAbsolute,
		Layers: LayerNames{
			Prefix: "transformer.layer",
			Query:  "attention.q_lin", Key: "attention.k_lin", Value: "attention.v_lin",
			AttentionOutput: "attention.out_lin", AttentionNorm: "sa_layer_norm",
			Intermediate: "ffn.lin1", Output: "ffn.lin2", OutputNorm: "output_layer_norm",
		},
		Head:     HeadNames{Dense: "pre_classifier", Out: "classifier", Activation: HeadReLU},
		TopLevel: []string{"pre_classifier", "classifier"},
		ConfigKeys: map[string]string{
			"hidden_size": "dim", "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads",
			"intermediate_size": "hidden_dim", "hidden_act": "activation",
			"type_vocab_size": "", "layer_norm_eps": "", "embedding_size": "",
		},
		FixedLayerNormEps: 1e-12, TokenizerFile: VocabFile,
	},
	{
		ModelType: "electra", Prefix: "electra", ClassPrefix: "Electra",
		Positions: PositionsAbsolute, TokenTypes: true, Layers: bertLayers,
		Head:     HeadNames{Dense: "classifier.dense", Out: "classifier.out_proj", Activation: HeadGELU, DropoutFirst: true},
		TopLevel: []string{"classifier"}, TokenizerFile: VocabFile,
	},
	debertaV2,
}

// ArchitectureOf returns the entry of Architectures for a model_type.
func ArchitectureOf(modelType string) (*Architecture, bool) {
	i := slices.IndexFunc(Architectures, func(a *Architecture) bool { return a.ModelType == modelType })
	if i < 0 {
		return nil, false
	}
	return Architectures[i], true
}

// modelTypes lists the supported model types for error messages.
func modelTypes() string {
	var names []string
	for _, a := range Architectures {
		names = append(names, strconv.Quote(a.ModelType))
	}
	return strings.Join(names, ", ")
}

// LayerModule returns the canonical name of module name (one of a.Layers' names) of layer i.
func (a *Architecture) LayerModule(i int, name string) string {
	return fmt.Sprintf("%s.%d.%s", a.Layers.Prefix, i, name)
}

// layerIndex returns N for a canonical tensor name of encoder layer N.
func (a *Architecture) layerIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, a.Layers.Prefix+".")
	if !ok {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// IsTopLevel reports whether a canonical name (of a module or tensor) lies outside the base model,
// in the head of the …ForSequenceClassification class.
func (a *Architecture) IsTopLevel(name string) bool {
	return slices.ContainsFunc(a.TopLevel, func(root string) bool {
		return name == root || strings.HasPrefix(name, root+".")
	})
}

// StoredName is the …ForSequenceClassification name of a canonical name: Prefix + "." + name
// for the base model, the name as it is for the head outside it.
func (a *Architecture) StoredName(canonical string) string {
	if a.IsTopLevel(canonical) {
		return canonical
	}
	return a.Prefix + "." + canonical
}

// Class returns the transformers class of a checkpoint with or without a classifier.
func (a *Architecture) Class(classifier bool) string {
	if classifier {
		return a.ClassPrefix + "ForSequenceClassification"
	}
	return a.ClassPrefix + "Model"
}

// TokenClass returns the transformers class of a token classifier: ClassPrefix +
// "ForTokenClassification" (BertForTokenClassification, RobertaForTokenClassification, …).
func (a *Architecture) TokenClass() string { return a.ClassPrefix + "ForTokenClassification" }

// TokenClassifier is the name of a token classifier's output layer: a plain linear "classifier"
// in every …ForTokenClassification, which has no pooler or sequence head.
const TokenClassifier = "classifier"

// OutputLayer returns the name of the layer that gives the logits: Head.Out, or TokenClassifier
// for a token classifier.
func (a *Architecture) OutputLayer(tokens bool) string {
	if tokens {
		return TokenClassifier
	}
	return a.Head.Out
}

// droppedPrefixes start the canonical names of tensors no member of the family needs: the
// pre-training heads (BERT's cls, RoBERTa's lm_head, DistilBERT's vocab_*, ELECTRA's
// discriminator and generator heads).
var droppedPrefixes = []string{
	"cls.", "lm_head.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
	"discriminator_predictions.", "generator_predictions.", "generator_lm_head.",
	"lm_predictions.", "mask_predictions.",
}

// droppedBuffers are buffers older transformers saved with the weights.
var droppedBuffers = []string{"embeddings.position_ids", "embeddings.token_type_ids"}
