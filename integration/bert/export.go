package bert

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft"
)

// ExportMerged writes the model as a plain Hugging Face …ForSequenceClassification checkpoint of
// its architecture (BertForSequenceClassification, RobertaForSequenceClassification, …)
// (checkpoint.WriteDir: config.json with the model's number of labels, and model.safetensors with
// the adapters merged into the base weights), which checkpoint.LoadDir, New without adapters, and
// transformers read. copyFiles, such as the base checkpoint's vocab.txt and
// tokenizer_config.json, are copied in.
//
// An unmerged model is merged for the export and then restored bit for bit, so ExportMerged must
// not run concurrently with forward passes; a merged model is exported as it is. Label names
// (config.json's id2label and label2id) are those given to SetLabelNames, else the checkpoint
// config's when the number of labels is unchanged, else "LABEL_<i>". A token classifier is
// exported as its architecture's …ForTokenClassification.
func (m *Model) ExportMerged(dir string, copyFiles ...string) error {
	_, err := m.exportMerged(dir, copyFiles)
	return err
}

// ExportCybertron writes what ExportMerged writes and, beside it, the spago_model.bin that
// cybertron's BERT loaders read (checkpoint.WriteSpago), so that cybertron's
// BertForSequenceClassification runs the merged model. copyFiles must include a vocab.txt and, for
// cybertron's textclassification loader, a tokenizer_config.json.
func (m *Model) ExportCybertron(dir string, copyFiles ...string) error {
	if m.arch.ModelType != "bert" { // refused before anything is written
		return fmt.Errorf("%w: bert: cybertron runs BERT only, and the model is %s; ExportMerged writes it for transformers",
			checkpoint.ErrUnsupported, m.arch.ModelType)
	}
	ck, err := m.exportMerged(dir, copyFiles)
	if err != nil {
		return err
	}
	if err := checkpoint.WriteSpago(dir, ck); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}

// exportMerged writes the merged checkpoint to dir and returns it.
func (m *Model) exportMerged(dir string, copyFiles []string) (*checkpoint.Checkpoint, error) {
	var ck *checkpoint.Checkpoint
	if m.merged {
		ck = m.checkpoint()
	} else {
		var err error
		if ck, err = m.mergedCheckpoint(); err != nil {
			return nil, err
		}
	}
	if err := checkpoint.WriteDir(dir, ck, copyFiles...); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	return ck, nil
}

// mergedCheckpoint merges the adapters, copies the weights out and restores the base weights
// exactly (unmerging alone would leave rounding errors).
func (m *Model) mergedCheckpoint() (*checkpoint.Checkpoint, error) {
	saved := map[string][]float32{}
	for name, a := range m.adapters {
		saved[name] = slices.Clone(a.BaseLayer().W.Value().Data().F32())
	}
	if err := m.Merge(); err != nil {
		return nil, err
	}
	ck := m.checkpoint()
	err := m.Unmerge()
	for name, a := range m.adapters {
		a.BaseLayer().W.Value().(mat.Matrix).SetData(float.Make(saved[name]...))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bert: restoring the weights after the export"), err)
	}
	return ck, nil
}

// SetLabelNames names the model's classes (a token classifier's tags) in order, for ExportMerged
// to write as id2label and label2id; there must be NumLabels distinct, non-empty names.
func (m *Model) SetLabelNames(names []string) error {
	if len(names) != m.NumLabels() {
		return fmt.Errorf("%w: bert: %d label names for %d labels", peft.ErrInvalidConfig, len(names), m.NumLabels())
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			return fmt.Errorf("%w: bert: label names %q: each must be non-empty and distinct", peft.ErrInvalidConfig, names)
		}
		seen[name] = true
	}
	m.labelNames = slices.Clone(names)
	return nil
}

// checkpoint copies every module's current weights into a checkpoint under canonical names.
func (m *Model) checkpoint() *checkpoint.Checkpoint {
	cfg := m.config
	if m.labelNames != nil || cfg.NumLabels() != m.NumLabels() {
		cfg.ID2Label, cfg.Label2ID = map[int]string{}, map[string]int{}
		for i := range m.NumLabels() {
			cfg.ID2Label[i] = fmt.Sprintf("LABEL_%d", i)
			if m.labelNames != nil {
				cfg.ID2Label[i] = m.labelNames[i]
			}
			cfg.Label2ID[cfg.ID2Label[i]] = i
		}
	}
	ck := &checkpoint.Checkpoint{Config: cfg, Tensors: map[string]*checkpoint.Tensor{}}
	for _, mod := range m.modules {
		for _, t := range mod.tensors() {
			ck.Tensors[t.name] = &checkpoint.Tensor{Shape: t.shape, Data: slices.Clone(t.param.Value().Data().F32())}
		}
	}
	return ck
}
