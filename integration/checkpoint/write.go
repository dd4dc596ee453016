package checkpoint

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/internal/atomicdir"
	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// WriteDir writes ck as a Hugging Face model directory that LoadDir and transformers'
// from_pretrained read: config.json, and model.safetensors with every tensor as F32 under its
// …ForSequenceClassification name (Architecture.StoredName: "bert." + canonical name for BERT,
// "classifier.*" as is), with
// metadata {"format": "pt"}. copyFiles (such as a vocab.txt and tokenizer_config.json) are copied
// in under their base names. The files are written into a temporary directory beside dir, which
// then takes dir's place by renaming, so that a failure part-way never leaves a half-written
// checkpoint; other files of an existing dir are kept. ck must pass Validate.
//
// config.json has every field of the config.json ck.Config was parsed from (dropout
// probabilities, initializer_range, position_embedding_type, problem_type, …), with the values of
// Config's own fields under the architecture's keys, its model_type, the architecture
// …ForTokenClassification when ck is a token classifier's (HasTokenClassifier),
// …ForSequenceClassification when ck has a classifier, …Model otherwise, and id2label and
// label2id for NumLabels classes ("LABEL_0", … when ck has no label names, as transformers names
// them).
func WriteDir(dir string, ck *Checkpoint, copyFiles ...string) error {
	if ck == nil {
		return fmt.Errorf("%w: nil checkpoint", ErrNotFound)
	}
	if err := ck.Validate(); err != nil {
		return err
	}
	config, err := encodeConfig(ck)
	if err != nil {
		return err
	}
	arch := ck.Config.Architecture()
	tensors := make([]safetensors.Tensor, 0, len(ck.Tensors))
	for name, t := range ck.Tensors {
		tensors = append(tensors, safetensors.Tensor{Name: arch.StoredName(name), Shape: t.Shape, Data: t.Data})
	}
	files := []atomicdir.File{
		{Name: ConfigFile, Write: func(w io.Writer) error { _, err := w.Write(config); return err }},
		{Name: SafetensorsFile, Write: func(w io.Writer) error {
			return safetensors.Write(w, tensors, map[string]string{"format": "pt"})
		}},
	}
	for _, src := range copyFiles {
		files = append(files, atomicdir.File{Name: filepath.Base(src), Write: func(w io.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return fileError(src, err)
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		}})
	}
	return atomicdir.Write(dir, files)
}

// encodeConfig returns config.json for ck, keys sorted and indented as transformers writes them.
func encodeConfig(ck *Checkpoint) ([]byte, error) {
	c := ck.Config
	arch := c.Architecture()
	c.ModelType = arch.ModelType
	c.Architectures = []string{arch.Class(ck.HasClassifier())}
	if ck.HasTokenClassifier() {
		c.Architectures = []string{arch.TokenClass()}
	}
	if len(c.ID2Label) == 0 {
		c.ID2Label = map[int]string{}
		for i := range c.NumLabels() {
			c.ID2Label[i] = fmt.Sprintf("LABEL_%d", i)
		}
	}
	c.Label2ID = map[string]int{}
	for id, label := range c.ID2Label {
		c.Label2ID[label] = id
	}
	// Through a map, so that the keys come out sorted like transformers' to_json_string. The
	// base config's other keys are kept; num_labels is dropped, as id2label gives the number.
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	own := map[string]any{}
	if err := json.Unmarshal(data, &own); err != nil {
		return nil, err
	}
	for std, key := range arch.ConfigKeys { // under the architecture's keys
		if v, ok := own[std]; ok {
			delete(own, std)
			if key != "" {
				own[key] = v
			}
		}
	}
	fields := map[string]any{}
	for key, value := range c.fields {
		if key != "num_labels" {
			fields[key] = value
		}
	}
	maps.Copy(fields, own)
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
