package bert

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
)

// Options configures a Model.
type Options struct {
	// Adapter builds the adapter of every targeted layer; nil trains the head alone.
	Adapter peft.Config
	// Targets chooses the adapted layers among the linear layers of the encoder and the pooler
	// (the classifier is not adaptable) and the modules trained in full, with PEFT's rules on
	// the Hugging Face names ("bert.encoder.layer.0.attention.self.query", "bert.pooler.dense"):
	// "dense" also selects the pooler, peft.AllLinear selects every linear layer but the
	// classifier, a Pattern must match a whole name, and a module in ModulesToSave is never
	// adapted. As in PEFT, no target modules means query and value, and the classifier is always
	// trained (PEFT's sequence classification task adds it to modules_to_save).
	// peft.DefaultBertTargets adapts query and value and trains pooler and classifier.
	Targets peft.Targets
	// NumLabels is the number of classes; 0 takes the checkpoint config's.
	NumLabels int
	// Seed draws the new weights: adapters, and the pooler and classifier when the checkpoint has
	// none of the right size. It also seeds dropout.
	Seed uint64
	// FullFineTune trains every weight, embeddings included: the full fine-tuning baseline. It
	// excludes Adapter.
	FullFineTune bool
	// HiddenDropout is the dropout probability applied in training mode where Hugging Face applies
	// hidden_dropout_prob (0.1 in BERT configs): after the embeddings, after the attention output
	// and feed-forward output projections, and on the pooled output before the classifier. 0
	// disables it.
	HiddenDropout float64
	// AttentionDropout is the dropout probability of the attention probabilities in training
	// mode, Hugging Face's attention_probs_dropout_prob (0.1 in BERT configs); 0 disables it.
	AttentionDropout float64
}

// initializerRange is the standard deviation of new weights, transformers' BertConfig default.
const initializerRange = 0.02

// Model is a BERT encoder with a sequence classification head and adapters on some of its
// linear layers. Its parameters are float32, as the checkpoint's. Encode and Logits may run on
// several goroutines at once; SetTraining, Merge and Unmerge may not run beside them.
type Model struct {
	nn.Module
	// Embeddings are the word, position and token type tables and their LayerNorm.
	Embeddings Embeddings
	// Layers are the encoder layers.
	Layers []*Layer
	// Pooler maps the first token's hidden state, through tanh, to the pooled output.
	Pooler *linear.Model
	// Classifier maps the pooled output to the class logits.
	Classifier *linear.Model

	config   checkpoint.Config
	adapters map[string]peft.Adapter // by full module name
	// modules lists every module with its parameters, in checkpoint order.
	modules   []module
	trainable []*nn.Param
	dropout   float64
	attnDrop  float64    // AttentionDropout
	dropSeed  uint64     // Seed, which seeds every dropout mask (see masks)
	dropMu    sync.Mutex // guards dropRNG: Logits may run on several goroutines at once
	dropRNG   *rand.Rand // draws the dropout keys of a batch without DropoutKeys
	training  bool
	merged    bool
	// headFromBase is set for a model loaded from an adapter without task_type: its classifier is
	// the checkpoint's, frozen, and SaveAdapter writes no task_type.
	headFromBase bool
}

// Embeddings holds the embedding tables, each a matrix with one row per id.
type Embeddings struct {
	Word, Position, TokenType *nn.Param
	Norm                      LayerNorm
}

// LayerNorm holds the gain and bias of a layer normalisation; epsilon comes from the config.
type LayerNorm struct {
	Weight, Bias *nn.Param
}

// Layer is one encoder layer, its linear layers named as in Hugging Face.
type Layer struct {
	Query, Key, Value *linear.Model
	// AttentionOutput is attention.output.dense.
	AttentionOutput *linear.Model
	// AttentionNorm is attention.output.LayerNorm.
	AttentionNorm LayerNorm
	// Intermediate is intermediate.dense.
	Intermediate *linear.Model
	// Output is output.dense.
	Output *linear.Model
	// OutputNorm is output.LayerNorm.
	OutputNorm LayerNorm
	prefix     string // "encoder.layer.N."
}

// module is a named group of parameters: a linear layer, a LayerNorm or an embedding table.
type module struct {
	name   string
	params []*nn.Param
	linear *linear.Model // set for linear layers of the encoder, which adapters may wrap
}

// New builds the model from a checkpoint, freezes its weights and adds adapters and the
// classification head as opts says. The checkpoint's pooler and classifier are used when present
// with the right shapes; otherwise they are drawn from a normal distribution of standard deviation
// 0.02 with zero biases, as transformers initialises them.
func New(ck *checkpoint.Checkpoint, opts Options) (*Model, error) {
	return newModel[float32](ck, opts)
}

// newModel builds the model with parameters of element type T; tests use float64 to check
// gradients by finite differences.
func newModel[T float.DType](ck *checkpoint.Checkpoint, opts Options) (*Model, error) {
	if ck == nil {
		return nil, fmt.Errorf("%w: bert: nil checkpoint", peft.ErrInvalidConfig)
	}
	if err := ck.Validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg := ck.Config
	numLabels := opts.NumLabels
	if numLabels == 0 {
		numLabels = cfg.NumLabels()
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	w := weights[T]{ck: ck}
	m := &Model{
		config:   cfg,
		adapters: map[string]peft.Adapter{},
		dropout:  opts.HiddenDropout,
		attnDrop: opts.AttentionDropout,
		dropSeed: opts.Seed,
		dropRNG:  rand.New(rand.NewPCG(opts.Seed, 0xd209)),
	}
	m.Embeddings = Embeddings{
		Word:      w.param("embeddings.word_embeddings.weight"),
		Position:  w.param("embeddings.position_embeddings.weight"),
		TokenType: w.param("embeddings.token_type_embeddings.weight"),
		Norm:      w.layerNorm("embeddings.LayerNorm"),
	}
	m.addModule("embeddings.word_embeddings", nil, m.Embeddings.Word)
	m.addModule("embeddings.position_embeddings", nil, m.Embeddings.Position)
	m.addModule("embeddings.token_type_embeddings", nil, m.Embeddings.TokenType)
	m.addNorm("embeddings.LayerNorm", m.Embeddings.Norm)
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		l := &Layer{
			Query:           w.linear(p + "attention.self.query"),
			Key:             w.linear(p + "attention.self.key"),
			Value:           w.linear(p + "attention.self.value"),
			AttentionOutput: w.linear(p + "attention.output.dense"),
			AttentionNorm:   w.layerNorm(p + "attention.output.LayerNorm"),
			Intermediate:    w.linear(p + "intermediate.dense"),
			Output:          w.linear(p + "output.dense"),
			OutputNorm:      w.layerNorm(p + "output.LayerNorm"),
			prefix:          p,
		}
		m.Layers = append(m.Layers, l)
		m.addLinear(p+"attention.self.query", l.Query)
		m.addLinear(p+"attention.self.key", l.Key)
		m.addLinear(p+"attention.self.value", l.Value)
		m.addLinear(p+"attention.output.dense", l.AttentionOutput)
		m.addNorm(p+"attention.output.LayerNorm", l.AttentionNorm)
		m.addLinear(p+"intermediate.dense", l.Intermediate)
		m.addLinear(p+"output.dense", l.Output)
		m.addNorm(p+"output.LayerNorm", l.OutputNorm)
	}
	h := cfg.HiddenSize
	m.Pooler = w.linearOrNew("pooler.dense", h, h, rng)
	m.Classifier = w.linearOrNew("classifier", numLabels, h, rng)
	m.addLinear("pooler.dense", m.Pooler)
	m.addModule("classifier", nil, m.Classifier.W, m.Classifier.B)
	if opts.FullFineTune {
		for _, mod := range m.modules {
			m.trainable = append(m.trainable, mod.params...)
		}
	} else if err := m.addAdapters(opts, rng); err != nil {
		return nil, err
	}
	for _, p := range m.allBaseParams() {
		p.SetRequiresGrad(false)
	}
	for _, p := range m.trainable {
		p.SetRequiresGrad(true)
	}
	return m, nil
}

func (o Options) validate() error {
	switch {
	case o.NumLabels < 0:
		return fmt.Errorf("%w: bert: NumLabels = %d", peft.ErrInvalidConfig, o.NumLabels)
	case !(o.HiddenDropout >= 0 && o.HiddenDropout < 1):
		return fmt.Errorf("%w: bert: HiddenDropout = %v, want a probability in [0, 1)", peft.ErrInvalidConfig, o.HiddenDropout)
	case !(o.AttentionDropout >= 0 && o.AttentionDropout < 1):
		return fmt.Errorf("%w: bert: AttentionDropout = %v, want a probability in [0, 1)", peft.ErrInvalidConfig, o.AttentionDropout)
	case o.FullFineTune && o.Adapter != nil:
		return fmt.Errorf("%w: bert: FullFineTune trains every weight and excludes an adapter", peft.ErrInvalidConfig)
	case o.Adapter != nil:
		return o.Adapter.Validate()
	}
	return nil
}

// addAdapters wraps the targeted linear layers and collects the trainable parameters: the
// adapters' in module order, then the modules to save.
func (m *Model) addAdapters(opts Options, rng *rand.Rand) error {
	var linears, names []string
	for _, mod := range m.modules {
		if mod.linear != nil {
			linears = append(linears, mod.name)
		}
		names = append(names, mod.name)
	}
	var targeted []string
	if opts.Adapter != nil {
		var err error
		if targeted, err = selectLinears(opts.Targets, linears); err != nil {
			return err
		}
	}
	saveTargets := opts.Targets
	if !slices.Contains(saveTargets.ModulesToSave, "classifier") {
		saveTargets.ModulesToSave = append(slices.Clone(saveTargets.ModulesToSave), "classifier")
	}
	saved, err := saveTargets.SelectSaved(names)
	if err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	for _, mod := range m.modules {
		if !slices.Contains(targeted, mod.name) {
			continue
		}
		a, err := opts.Adapter.New(mod.linear, rng)
		if err != nil {
			return fmt.Errorf("bert: adapter of %s: %w", mod.name, err)
		}
		m.adapters[mod.name] = a
		m.trainable = append(m.trainable, a.TrainableParams()...)
	}
	for _, mod := range m.modules {
		if slices.Contains(saved, mod.name) {
			m.trainable = append(m.trainable, mod.params...)
		}
	}
	return nil
}

// selectLinears returns the linear layers (by name without the "bert." prefix) that targets
// adapt, matching PEFT's rules on the Hugging Face names, which a Pattern must match whole.
func selectLinears(targets peft.Targets, linears []string) ([]string, error) {
	if len(targets.Modules) == 0 && targets.Pattern == "" {
		targets.Modules = peft.DefaultBertTargets.Modules
	}
	hfNames := make([]string, len(linears))
	for i, name := range linears {
		hfNames[i] = hfPrefix + name
	}
	selected, err := targets.Select(hfNames)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if len(selected) == 0 { // PEFT refuses this too ("All modules were excluded")
		return nil, fmt.Errorf("%w: bert: every targeted module is in modules_to_save %v (trained in full), so nothing would be adapted",
			peft.ErrInvalidConfig, targets.ModulesToSave)
	}
	for i, name := range selected {
		selected[i] = strings.TrimPrefix(name, hfPrefix)
	}
	return selected, nil
}

func (m *Model) addModule(name string, lin *linear.Model, params ...*nn.Param) {
	m.modules = append(m.modules, module{name: name, params: params, linear: lin})
}

func (m *Model) addLinear(name string, l *linear.Model) { m.addModule(name, l, l.W, l.B) }

func (m *Model) addNorm(name string, n LayerNorm) { m.addModule(name, nil, n.Weight, n.Bias) }

// allBaseParams returns the parameters of every module, adapters excluded.
func (m *Model) allBaseParams() []*nn.Param {
	var ps []*nn.Param
	for _, mod := range m.modules {
		ps = append(ps, mod.params...)
	}
	return ps
}
