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

// hfPrefix starts the Hugging Face name of every module of BertForSequenceClassification but the
// classifier.
const hfPrefix = "bert."

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
		adapters[hfPrefix+name] = a
	}
	saved := m.savedModules()
	extra := map[string]peft.Tensor{}
	for _, mod := range saved {
		for key, p := range moduleTensors(mod) {
			extra[peft.KeyPrefix+key] = peft.Tensor{Shape: hfShape(key, p), Data: p.Value().Data().F32()}
		}
	}
	targets := describeTargets(m.linearNames(), names)
	for _, mod := range saved {
		targets.ModulesToSave = append(targets.ModulesToSave, mod.name)
	}
	if err := peft.SaveAdapter(dir, cfg, targets, adapters, extra, meta); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}

// LoadAdapter builds a model from ck with the adapter saved in dir (by SaveAdapter or by PEFT
// for BertForSequenceClassification): the configuration and targets of dir/adapter_config.json,
// the number of labels of the saved classifier, and the values of the adapters and of the
// modules to save from dir/adapter_model.safetensors. Its logits are those of the model that was
// saved.
//
// PEFT's conventions are undone: target and saved module names may carry the "bert." prefix,
// and the "score" entry PEFT adds to modules_to_save of every SEQ_CLS adapter (BERT has no such
// module) is dropped, and an OFT r or oft_block_size that PEFT had to adjust to a layer is
// adjusted alike (oft.Config.AdjustToLayer). A file with task_type unset holds no classification
// head (PEFT saves none): the model then takes ck's classifier, frozen, as PEFT takes the base
// model's, and LoadAdapter fails with ErrNoHead when ck has none. Errors are those of
// peft.LoadAdapterConfig and peft.LoadAdapterTensors (peft.ErrTensorMismatch when the file does
// not fit ck), peft.ErrUnsupported for a task type other than SEQ_CLS or adapters on the
// classifier, and the errors of the adapters' Validate (peft.ErrInvalidParams for values such as
// an all-zero HRA vector).
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
	targets = fromPEFTTargets(targets)
	if err := checkClassifierNotTargeted(targets, meta); err != nil {
		return nil, fmt.Errorf("%w: bert: %s: %v", peft.ErrUnsupported, configPath, err)
	}
	numLabels, err := savedNumLabels(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	headFromBase := numLabels == 0 && meta.TaskType == ""
	if headFromBase && (ck == nil || !ck.HasClassifier()) {
		return nil, fmt.Errorf("%w: bert: %s has no task_type, so PEFT saved no classifier in it, and the checkpoint has none either: "+
			"load it onto the BertForSequenceClassification checkpoint it was trained on, or save the adapter with task_type SEQ_CLS",
			ErrNoHead, configPath)
	}
	if ck != nil {
		cfg = adjustedOFT(cfg, ck.Config)
	}
	m, err := New(ck, Options{Adapter: cfg, Targets: targets, NumLabels: numLabels, TokenClassification: meta.TaskType == tokenTaskType})
	if err != nil {
		return nil, err
	}
	if headFromBase {
		m.freezeClassifier()
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
	for _, in := range []int{c.HiddenSize, c.IntermediateSize} {
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

// freezeClassifier makes the classifier part of the frozen base, as it is in PEFT for a model
// without task_type.
func (m *Model) freezeClassifier() {
	m.trainable = slices.DeleteFunc(m.trainable, func(p *nn.Param) bool { return p == m.Classifier.W || p == m.Classifier.B })
	m.Classifier.W.SetRequiresGrad(false)
	m.Classifier.B.SetRequiresGrad(false)
	m.headFromBase = true
}

// fromPEFTTargets removes the "bert." prefix from module names, the "score" entry of
// modules_to_save, and a "classifier" target that modules_to_save overrides.
func fromPEFTTargets(t peft.Targets) peft.Targets {
	out := peft.Targets{Pattern: t.Pattern, LayersToTransform: t.LayersToTransform}
	for _, name := range t.Modules {
		if name = strings.TrimPrefix(name, hfPrefix); name != "classifier" || !slices.Contains(t.ModulesToSave, "classifier") {
			out.Modules = append(out.Modules, name) // PEFT never adapts a module it saves in full
		}
	}
	for _, name := range t.ModulesToSave {
		if name = strings.TrimPrefix(name, hfPrefix); name != "score" && !slices.Contains(out.ModulesToSave, name) {
			out.ModulesToSave = append(out.ModulesToSave, name)
		}
	}
	return out
}

// savedNumLabels returns the number of rows of the saved classifier, or 0 (the checkpoint's
// number) if the file has none; a file that cannot be read is reported by LoadAdapterTensors.
func savedNumLabels(dir string) (int, error) {
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
		if e.Name == peft.KeyPrefix+"classifier.weight" && len(e.Shape) == 2 && e.Shape[0] > 0 {
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
		adapters[hfPrefix+name] = a
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
		for key, p := range moduleTensors(mod) {
			params[peft.KeyPrefix+key] = p
			want[peft.KeyPrefix+key] = hfShape(key, p)
		}
	}
	return params, want, nil
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

// moduleTensors returns the parameters of mod by Hugging Face name: "<module>.weight" and, when
// it has one, "<module>.bias", with the "bert." prefix for every module but the classifier.
func moduleTensors(mod module) map[string]*nn.Param {
	name := mod.name
	if name != "classifier" {
		name = hfPrefix + name
	}
	out := map[string]*nn.Param{name + ".weight": mod.params[0]}
	if len(mod.params) > 1 {
		out[name+".bias"] = mod.params[1]
	}
	return out
}

// hfShape returns the Hugging Face shape of a parameter: one dimension for biases and LayerNorm
// weights (spago holds them as columns), two otherwise.
func hfShape(name string, p *nn.Param) []int {
	if strings.HasSuffix(name, ".bias") || strings.HasSuffix(name, "LayerNorm.weight") {
		return []int{p.Value().Size()}
	}
	return p.Shape()
}

// describeTargets returns targets that select exactly adapted among linears: the shortest
// module-name suffixes of a common length, restricted by layers_to_transform when that helps,
// with the full names as the last resort.
func describeTargets(linears, adapted []string) peft.Targets {
	var layers []int
	for _, name := range adapted {
		if parts := strings.Split(name, "."); len(parts) > 2 && parts[0] == "encoder" && parts[1] == "layer" {
			if i, err := strconv.Atoi(parts[2]); err == nil && !slices.Contains(layers, i) {
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
