package bert

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
	// TokenClassification makes the model BertForTokenClassification: the classifier labels
	// every token (TokenLogits), the pooler is no module of it (neither adapted nor saved), and
	// adapters are saved with PEFT's task_type TOKEN_CLS (LoadAdapter makes a token classifier
	// of a TOKEN_CLS adapter, and takes no other task type but SEQ_CLS).
	TokenClassification bool
}

// initializerRange is the standard deviation of new weights, transformers' BertConfig default.
const initializerRange = 0.02

// Model is an encoder of the BERT family (checkpoint.Architectures: BERT, RoBERTa, XLM-RoBERTa,
// DistilBERT, ELECTRA) with its sequence classification head and adapters on some of its
// linear layers. Its parameters are float32, as the checkpoint's. Encode and Logits may run on
// several goroutines at once; SetTraining, Merge and Unmerge may not run beside them.
type Model struct {
	nn.Module
	// Embeddings are the word, position and token type tables and their LayerNorm.
	Embeddings Embeddings
	// Layers are the encoder layers.
	Layers []*Layer
	// Pooler is the head's dense layer (the architecture's Head.Dense: BERT's pooler.dense,
	// RoBERTa's and ELECTRA's classifier.dense, DistilBERT's pre_classifier), which maps the
	// first token's hidden state, through the head's activation, to the pooled output.
	Pooler *linear.Model
	// Classifier maps the pooled output to the class logits (Head.Out: classifier,
	// classifier.out_proj).
	Classifier *linear.Model

	config   checkpoint.Config
	arch     *checkpoint.Architecture
	deberta  *deberta                // DeBERTa's configuration and modules, nil for the other architectures
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
	tokens       bool // Options.TokenClassification

	// labelNames are the class names given to SetLabelNames, for the merged export.
	labelNames []string
}

// Embeddings holds the embedding tables, each a matrix with one row per id. Position is nil for
// an architecture without absolute positions, TokenType for one without token types
// (DistilBERT); Project is ELECTRA's embeddings_project when its embeddings are narrower than
// its hidden states, nil otherwise.
type Embeddings struct {
	Word, Position, TokenType *nn.Param
	Norm                      LayerNorm
	Project                   *linear.Model
}

// LayerNorm holds the gain and bias of a layer normalisation; epsilon comes from the config.
type LayerNorm struct {
	Weight, Bias *nn.Param
}

// Layer is one encoder layer, its linear layers named as in Hugging Face (the field comments
// give BERT's names; checkpoint.LayerNames gives each architecture's).
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
	names      layerNames
}

// layerNames are the full module names of one layer's linear layers.
type layerNames struct {
	query, key, value, attentionOutput, intermediate, output string
}

// module is a named group of parameters: a linear layer, a LayerNorm or an embedding table.
type module struct {
	name   string
	params []*nn.Param
	linear *linear.Model // set for linear layers of the encoder, which adapters may wrap
	norm   bool          // a LayerNorm: its weight is one-dimensional in Hugging Face
}

// New builds the model from a checkpoint, freezes its weights and adds adapters and the
// classification head as opts says. The checkpoint's head (pooler and classifier for BERT) is used
// when present with the right shapes; otherwise it is drawn from a normal distribution of
// standard deviation 0.02 with zero biases, as transformers initialises it. A head dense layer
// (Pooler) the checkpoint lacks is then always trained and saved with the adapters, as if in
// Targets.ModulesToSave: PEFT would otherwise take its own random draw, and an adapter trained
// here would give other logits there (BERT's pooler on a checkpoint without one; DistilBERT's
// pre_classifier is trained and saved anyway, as in PEFT, where the "classifier" entry of
// modules_to_save selects it too).
func New(ck *checkpoint.Checkpoint, opts Options) (*Model, error) {
	return newModel[float32](ck, opts)
}

// newModel builds the model with parameters of element type T; tests use float64 to check
// gradients by finite differences.
func newModel[T float.DType](ck *checkpoint.Checkpoint, opts Options) (*Model, error) {
	return buildModel[T](ck, opts, false)
}

// buildModel is newModel; exactSaved takes opts.Targets.ModulesToSave as it is (an adapter
// file's), without adding the head dense layer the checkpoint lacks.
func buildModel[T float.DType](ck *checkpoint.Checkpoint, opts Options, exactSaved bool) (*Model, error) {
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
	arch := cfg.Architecture()
	m := &Model{
		config:   cfg,
		arch:     arch,
		adapters: map[string]peft.Adapter{},
		dropout:  opts.HiddenDropout,
		attnDrop: opts.AttentionDropout,
		dropSeed: opts.Seed,
		dropRNG:  rand.New(rand.NewPCG(opts.Seed, 0xd209)),
		tokens:   opts.TokenClassification,
	}
	if arch.Attention == checkpoint.AttentionDisentangled {
		if err := addDeberta(m, w); err != nil {
			return nil, err
		}
	} else {
		addEmbeddings(m, w)
	}
	for i := range cfg.NumHiddenLayers {
		addLayer(m, w, i)
		addDebertaLayer(m, w, i)
	}
	h, head := cfg.HiddenSize, arch.Head
	m.Pooler = w.linearOrNew(head.Dense, h, h, rng)
	out := arch.OutputLayer(opts.TokenClassification)
	m.Classifier = w.linearOrNew(out, numLabels, h, rng)
	if !opts.TokenClassification {
		m.addLinear(head.Dense, m.Pooler)
	}
	m.addModule(out, nil, m.Classifier.W, m.Classifier.B)
	if !exactSaved && !ck.HasHeadDense() && !opts.FullFineTune && !opts.TokenClassification {
		// A head layer drawn here must go into the adapter file, or PEFT draws its own.
		opts.Targets.ModulesToSave = append(slices.Clone(opts.Targets.ModulesToSave), head.Dense)
	}
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
	// As PEFT's sequence classification task, the classifier is always trained in full, and so
	// never adapted (RoBERTa's classifier.dense, DistilBERT's pre_classifier).
	saveTargets := opts.Targets
	if !slices.Contains(saveTargets.ModulesToSave, "classifier") {
		saveTargets.ModulesToSave = append(slices.Clone(saveTargets.ModulesToSave), "classifier")
	}
	var targeted []string
	if opts.Adapter != nil {
		var err error
		if targeted, err = selectLinears(m.arch, saveTargets, linears); err != nil {
			return err
		}
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

// selectLinears returns the linear layers (by canonical name, without the "bert." prefix) that
// targets adapt, matching PEFT's rules on the Hugging Face names, which a Pattern must match
// whole. No targets means PEFT's default of the architecture (peft.DefaultTargetModules).
func selectLinears(arch *checkpoint.Architecture, targets peft.Targets, linears []string) ([]string, error) {
	if len(targets.Modules) == 0 && targets.Pattern == "" {
		targets.Modules = peft.DefaultTargetModules(arch.ModelType)
	}
	hfNames := make([]string, len(linears))
	hfToName := map[string]string{}
	for i, name := range linears {
		hfNames[i] = arch.StoredName(name)
		hfToName[hfNames[i]] = name
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
		selected[i] = hfToName[name]
	}
	return selected, nil
}

func (m *Model) addModule(name string, lin *linear.Model, params ...*nn.Param) {
	m.modules = append(m.modules, module{name: name, params: params, linear: lin})
}

func (m *Model) addLinear(name string, l *linear.Model) { m.addModule(name, l, l.W, l.B) }

func (m *Model) addNorm(name string, n LayerNorm) {
	m.modules = append(m.modules, module{name: name, params: []*nn.Param{n.Weight, n.Bias}, norm: true})
}

// allBaseParams returns the parameters of every module, adapters excluded.
func (m *Model) allBaseParams() []*nn.Param {
	var ps []*nn.Param
	for _, mod := range m.modules {
		ps = append(ps, mod.params...)
	}
	return ps
}
