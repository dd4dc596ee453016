package bert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/safetensors"
	"github.com/spago-peft/spago-peft/peft"
	// Every method this package adapts with is registered, so LoadAdapter reads all of them.
	_ "github.com/spago-peft/spago-peft/peft/hra"
	_ "github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// ErrNoHead reports an adapter file without a classification head (PEFT saves none when
// task_type is unset) for a checkpoint that has none either.
var ErrNoHead = errors.New("bert: no classification head")

// taskType is PEFT's task_type of a sequence classifier, which this model is.
const taskType = "SEQ_CLS"

// SaveAdapter writes the adapters and the modules trained in full (the classification head) to
// dir in PEFT's format, as PeftModelForSequenceClassification's save_pretrained does: see
// peft.SaveAdapter. meta.TaskType is "SEQ_CLS", or "TOKEN_CLS" for a token classifier (set when
// empty). The target modules are written as the shortest module-name suffixes (with
// layers_to_transform if needed) that select exactly the adapted layers, and modules_to_save as
// the names of the modules trained in full. Training options (Seed, HiddenDropout) are not
// stored. It fails with peft.ErrInvalidConfig for a model without adapters (head-only or full
// fine-tuning: ExportMerged writes those).
func (m *Model) SaveAdapter(dir string, meta peft.Meta) error {
	if len(m.adapters) == 0 {
		return fmt.Errorf("%w: bert: the model has no adapters to save (ExportMerged writes a head-only or fully fine-tuned model)", peft.ErrInvalidConfig)
	}
	switch meta.TaskType {
	case "":
		if !m.headFromBase { // a model whose classifier is the base's is saved, as PEFT saves it, without task_type
			meta.TaskType = m.taskType()
		}
	case m.taskType():
	default:
		return fmt.Errorf("%w: bert: task_type %q, but the model's is %s", peft.ErrInvalidConfig, meta.TaskType, m.taskType())
	}
	names := m.adapterNames()
	cfg, err := peft.ConfigOf(m.adapters[names[0]])
	if err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	adapters := map[string]peft.Adapter{}
	for name, a := range m.adapters {
		adapters[m.arch.StoredName(name)] = a
	}
	saved := m.savedModules()
	extra := map[string]peft.Tensor{}
	for _, mod := range saved {
		for _, t := range mod.tensors() {
			extra[peft.KeyPrefix+m.arch.StoredName(t.name)] = peft.Tensor{Shape: t.shape, Data: t.param.Value().Data().F32()}
		}
	}
	targets := describeTargets(m.arch, m.linearNames(), names)
	targets.ModulesToSave = m.savedEntries(saved)
	if err := peft.SaveAdapter(dir, cfg, targets, adapters, extra, meta); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}

// LoadAdapter builds a model from ck with the adapter saved in dir (by SaveAdapter or by PEFT
// for the …ForSequenceClassification class of ck's architecture): the configuration and targets
// of dir/adapter_config.json, the number of labels of the saved classifier, and the values of
// the adapters and of the modules to save from dir/adapter_model.safetensors. Its logits are
// those of the model that was saved.
//
// PEFT's conventions are undone: target and saved module names may carry the base model's
// prefix ("bert.", "roberta.", …), the "score" entry PEFT adds to modules_to_save of every
// SEQ_CLS adapter (no member of the family has such a module) is dropped, as are targets that
// modules_to_save overrides, and an OFT r or oft_block_size that PEFT had to adjust to a layer is
// adjusted alike (oft.Config.AdjustToLayer). A file with task_type unset holds no classification
// head (PEFT saves none): the model then takes ck's head, frozen, as PEFT takes the base model's,
// and LoadAdapter fails with ErrNoHead when ck has none. The head's dense layer (BERT's pooler)
// that the file does not hold is ck's, frozen, as in PEFT; LoadAdapter fails with ErrNoHead when
// ck has none either, since PEFT's logits then came from a random draw of its own. Errors are
// those of peft.LoadAdapterConfig and peft.LoadAdapterTensors (peft.ErrTensorMismatch when the
// file does not fit ck), peft.ErrUnsupported for a task type other than SEQ_CLS or adapters on
// the classifier, and the errors of the adapters' Validate (peft.ErrInvalidParams for values
// such as an all-zero HRA vector).
func LoadAdapter(ck *checkpoint.Checkpoint, dir string) (*Model, error) {
	cfg, targets, meta, err := peft.LoadAdapterConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	configPath := filepath.Join(dir, peft.AdapterConfigFile)
	if meta.TaskType != "" && meta.TaskType != taskType && meta.TaskType != tokenTaskType {
		return nil, fmt.Errorf("%w: bert: %s has task_type %q; this model is a sequence classifier (%s) or a token classifier (%s)",
			peft.ErrUnsupported, configPath, meta.TaskType, taskType, tokenTaskType)
	}
	if meta.TaskType != "" && !slices.Contains(targets.ModulesToSave, "classifier") {
		// PeftModelForSequenceClassification (and ForTokenClassification) adds it before choosing
		// the modules to adapt.
		targets.ModulesToSave = append(targets.ModulesToSave, "classifier")
	}
	if ck == nil {
		return nil, fmt.Errorf("%w: bert: nil checkpoint", peft.ErrInvalidConfig)
	}
	arch := ck.Config.Architecture()
	targets = fromPEFTTargets(arch, targets)
	if err := checkClassifierNotTargeted(targets, meta); err != nil {
		return nil, fmt.Errorf("%w: bert: %s: %v", peft.ErrUnsupported, configPath, err)
	}
	numLabels, err := savedNumLabels(dir, arch.OutputLayer(meta.TaskType == tokenTaskType))
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	headFromBase := numLabels == 0 && meta.TaskType == ""
	if headFromBase && !ck.HasClassifier() {
		return nil, fmt.Errorf("%w: bert: %s has no task_type, so PEFT saved no classifier in it, and the checkpoint has none either: "+
			"load it onto the %s checkpoint it was trained on, or save the adapter with task_type SEQ_CLS",
			ErrNoHead, configPath, arch.Class(true))
	}
	if !ck.HasHeadDense() && !slices.ContainsFunc(targets.ModulesToSave, func(e string) bool { return savedByEntry(arch.Head.Dense, e) }) {
		return nil, fmt.Errorf("%w: bert: %s does not save %s (modules_to_save %q) and the checkpoint has none, so PEFT drew it at random: "+
			"load it onto the checkpoint it was trained on, or train with %q in modules_to_save",
			ErrNoHead, configPath, arch.Head.Dense, targets.ModulesToSave, arch.Head.Dense)
	}
	cfg = adjustedOFT(cfg, ck.Config)
	m, err := buildModel[float32](ck, Options{Adapter: cfg, Targets: targets, NumLabels: numLabels, TokenClassification: meta.TaskType == tokenTaskType}, true)
	if err != nil {
		return nil, err
	}
	if headFromBase {
		m.freezeClassifier(targets.ModulesToSave)
	}
	params, want, err := m.fileParams()
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	tensors, err := peft.LoadAdapterTensors(dir, want)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if err := peft.SetParams(params, tensors); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	// Values that load but cannot work (an all-zero reflection vector makes HRA divide by zero
	// and predict NaN) are refused as on saving.
	for _, name := range m.adapterNames() {
		if err := m.adapters[name].Validate(); err != nil {
			return nil, fmt.Errorf("bert: %s: module %s: %w", filepath.Join(dir, peft.AdapterWeightsFile), name, err)
		}
	}
	return m, nil
}

// adjustedOFT sets AdjustToLayer on an OFT configuration whose r or oft_block_size does not
// divide the input width of every linear layer of c (hidden and intermediate size): PEFT then
// adjusted it per layer, and the file holds blocks of the adjusted size.
func adjustedOFT(cfg peft.Config, c checkpoint.Config) peft.Config {
	oc, ok := cfg.(oft.Config)
	if !ok {
		return cfg
	}
	for _, in := range []int{c.HiddenSize, c.IntermediateSize, c.EmbeddingWidth()} {
		for _, p := range []int{oc.R, oc.BlockSize} {
			if p != 0 && (p > in || in%p != 0) {
				oc.AdjustToLayer = true
			}
		}
	}
	return oc
}

// checkClassifierNotTargeted refuses targets that adapt the classifier, which PEFT does for
// "all-linear" when task_type is unset (its saved target_modules then list "classifier"). A
// classifier in modules_to_save is trained in full and never adapted, in PEFT as here.
func checkClassifierNotTargeted(t peft.Targets, meta peft.Meta) error {
	if slices.Contains(t.ModulesToSave, "classifier") {
		return nil
	}
	allLinear := strings.EqualFold(t.Pattern, peft.AllLinear)
	switch {
	case allLinear && meta.TaskType == "":
		return fmt.Errorf(`target_modules %q without task_type adapts the classifier in PEFT, which this model does not support`, t.Pattern)
	case slices.Contains(t.Modules, "classifier"):
		return fmt.Errorf(`target_modules has "classifier" (as PEFT writes "all-linear" without task_type): adapters on the classifier are not supported; train it in full (task_type SEQ_CLS) instead`)
	case t.Pattern != "" && !allLinear:
		if re, err := regexp.Compile(`^(?:` + t.Pattern + `)$`); err == nil && re.MatchString("classifier") {
			return fmt.Errorf("target_modules pattern %q matches the classifier: adapters on the classifier are not supported", t.Pattern)
		}
	}
	return nil
}

// freezeClassifier makes the classifier (every module the "classifier" entry of modules_to_save
// selects: RoBERTa's whole head, DistilBERT's pre_classifier) part of the frozen base, as it is
// in PEFT for a model without task_type, except the modules the file's own modules_to_save names.
func (m *Model) freezeClassifier(own []string) {
	frozen := map[*nn.Param]bool{}
	for _, mod := range m.modules {
		if savedByEntry(mod.name, "classifier") && !slices.ContainsFunc(own, func(e string) bool { return savedByEntry(mod.name, e) }) {
			for _, p := range mod.params {
				frozen[p] = true
				p.SetRequiresGrad(false)
			}
		}
	}
	m.trainable = slices.DeleteFunc(m.trainable, func(p *nn.Param) bool { return frozen[p] })
	m.headFromBase = true
}

// fromPEFTTargets removes the base model's prefix ("bert.") from module names, the "score" entry
// of modules_to_save, and the targets that modules_to_save overrides (PEFT never adapts a module
// it saves in full, and its "all-linear" lists RoBERTa's classifier.dense and classifier.out_proj).
func fromPEFTTargets(arch *checkpoint.Architecture, t peft.Targets) peft.Targets {
	prefix := arch.Prefix + "."
	out := peft.Targets{Pattern: t.Pattern, LayersToTransform: t.LayersToTransform}
	for _, name := range t.ModulesToSave {
		if name = strings.TrimPrefix(name, prefix); name != "score" && !slices.Contains(out.ModulesToSave, name) {
			out.ModulesToSave = append(out.ModulesToSave, name)
		}
	}
	for _, name := range t.Modules {
		name = strings.TrimPrefix(name, prefix)
		if !slices.ContainsFunc(out.ModulesToSave, func(e string) bool { return savedByEntry(name, e) }) {
			out.Modules = append(out.Modules, name)
		}
	}
	return out
}

// savedNumLabels returns the number of rows of the saved output layer out (the sequence head's,
// or a token classifier's "classifier"), or 0 (the checkpoint's number) if the file has none; a
// file that cannot be read is reported by LoadAdapterTensors.
func savedNumLabels(dir, out string) (int, error) {
	f, err := os.Open(filepath.Join(dir, peft.AdapterWeightsFile))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	parsed, err := safetensors.Parse(f, info.Size())
	if err != nil {
		return 0, nil
	}
	for _, e := range parsed.Entries {
		if e.Name == peft.KeyPrefix+out+".weight" && len(e.Shape) == 2 && e.Shape[0] > 0 {
			return e.Shape[0], nil
		}
	}
	return 0, nil
}

// fileParams returns the parameters an adapter file holds, adapters and modules to save, by key,
// with the shapes the file stores them in.
func (m *Model) fileParams() (map[string]*nn.Param, map[string][]int, error) {
	adapters := map[string]peft.Adapter{}
	for name, a := range m.adapters {
		adapters[m.arch.StoredName(name)] = a
	}
	params, err := peft.AdapterParams(adapters)
	if err != nil {
		return nil, nil, err
	}
	want := map[string][]int{}
	for key, p := range params {
		want[key] = p.Shape()
	}
	for _, mod := range m.savedModules() {
		for _, t := range mod.tensors() {
			key := peft.KeyPrefix + m.arch.StoredName(t.name)
			params[key] = t.param
			want[key] = t.shape
		}
	}
	return params, want, nil
}

// savedEntries returns modules_to_save for the saved modules: their names, with the modules of a
// head outside the base model (RoBERTa's classifier.dense and classifier.out_proj) written as the
// head's name when all of them are saved, since PEFT wraps the module an entry names and cannot
// wrap one inside another.
func (m *Model) savedEntries(saved []module) []string {
	isSaved := map[string]bool{}
	for _, mod := range saved {
		isSaved[mod.name] = true
	}
	var entries []string
	for _, mod := range saved {
		name := mod.name
		for _, root := range m.arch.TopLevel {
			whole := !slices.ContainsFunc(m.modules, func(o module) bool { return strings.HasPrefix(o.name, root+".") && !isSaved[o.name] })
			if strings.HasPrefix(name, root+".") && whole {
				name = root
			}
		}
		if !slices.Contains(entries, name) {
			entries = append(entries, name)
		}
	}
	return entries
}

// savedModules returns the modules trained in full, in model order.
func (m *Model) savedModules() []module {
	trainable := map[*nn.Param]bool{}
	for _, p := range m.trainable {
		trainable[p] = true
	}
	var saved []module
	for _, mod := range m.modules {
		if _, adapted := m.adapters[mod.name]; !adapted && trainable[mod.params[0]] {
			saved = append(saved, mod)
		}
	}
	return saved
}

// linearNames returns the names of the adaptable linear layers, in model order.
func (m *Model) linearNames() []string {
	var names []string
	for _, mod := range m.modules {
		if mod.linear != nil {
			names = append(names, mod.name)
		}
	}
	return names
}

// tensor is a parameter of a module under its canonical tensor name, with its Hugging Face shape.
type tensor struct {
	name  string
	param *nn.Param
	shape []int
}

// tensors returns the parameters of mod: "<module>.weight" and, when it has one, "<module>.bias",
// with their Hugging Face shapes: one dimension for biases and LayerNorm weights (spago holds them
// as columns), two otherwise.
func (mod module) tensors() []tensor {
	w := mod.params[0]
	out := []tensor{{mod.name + ".weight", w, w.Shape()}}
	if mod.norm {
		out[0].shape = []int{w.Value().Size()}
	}
	if len(mod.params) > 1 {
		b := mod.params[1]
		out = append(out, tensor{mod.name + ".bias", b, []int{b.Value().Size()}})
	}
	return out
}

// savedByEntry reports whether a modules_to_save entry selects module, by peft.Targets' rule.
func savedByEntry(module, entry string) bool {
	selected, err := peft.Targets{ModulesToSave: []string{entry}}.SelectSaved([]string{module})
	return err == nil && len(selected) == 1
}

// describeTargets returns targets that select exactly adapted among linears: the shortest
// module-name suffixes of a common length, restricted by layers_to_transform when that helps,
// with the full names as the last resort.
func describeTargets(arch *checkpoint.Architecture, linears, adapted []string) peft.Targets {
	var layers []int
	for _, name := range adapted {
		if rest, ok := strings.CutPrefix(name, arch.Layers.Prefix+"."); ok {
			digits, _, _ := strings.Cut(rest, ".")
			if i, err := strconv.Atoi(digits); err == nil && !slices.Contains(layers, i) {
				layers = append(layers, i)
			}
		}
	}
	slices.Sort(layers)
	for k := 1; ; k++ {
		var suffixes []string
		full := true
		for _, name := range adapted {
			parts := strings.Split(name, ".")
			if k < len(parts) {
				full = false
				parts = parts[len(parts)-k:]
			}
			if s := strings.Join(parts, "."); !slices.Contains(suffixes, s) {
				suffixes = append(suffixes, s)
			}
		}
		for _, l := range [][]int{nil, layers} {
			t := peft.Targets{Modules: suffixes, LayersToTransform: l}
			if selected, err := t.Select(linears); err == nil && slices.Equal(selected, adapted) {
				return t
			}
		}
		if full {
			return peft.Targets{Modules: adapted}
		}
	}
}
