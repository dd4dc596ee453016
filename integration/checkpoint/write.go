package checkpoint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spago-peft/spago-peft/internal/atomicdir"
	"github.com/spago-peft/spago-peft/internal/safetensors"
)

// WriteDir writes ck as a Hugging Face model directory that LoadDir and transformers'
// from_pretrained read: config.json, and model.safetensors with every tensor as F32 under its
// BertForSequenceClassification name ("bert." + canonical name, "classifier.*" as is), with
// metadata {"format": "pt"}. copyFiles (such as a vocab.txt and tokenizer_config.json) are copied
// in under their base names. The files are written into a temporary directory beside dir, which
// then takes dir's place by renaming, so that a failure part-way never leaves a half-written
// checkpoint; other files of an existing dir are kept. ck must pass Validate.
//
// config.json has every field of the config.json ck.Config was parsed from (dropout
// probabilities, initializer_range, position_embedding_type, problem_type, …), with the values of
// Config's own fields, model_type "bert", the architecture
// BertForSequenceClassification when ck has a classifier (BertModel otherwise), and id2label and
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
	tensors := make([]safetensors.Tensor, 0, len(ck.Tensors))
	for name, t := range ck.Tensors {
		tensors = append(tensors, safetensors.Tensor{Name: storedName(name), Shape: t.Shape, Data: t.Data})
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

// storedName is the BertForSequenceClassification name of a canonical tensor name.
func storedName(canonical string) string {
	if strings.HasPrefix(canonical, "classifier.") {
		return canonical
	}
	return "bert." + canonical
}

// encodeConfig returns config.json for ck, keys sorted and indented as transformers writes them.
func encodeConfig(ck *Checkpoint) ([]byte, error) {
	c := ck.Config
	c.ModelType = modelTypeBERT
	c.Architectures = []string{"BertModel"}
	if ck.HasClassifier() {
		c.Architectures = []string{"BertForSequenceClassification"}
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
	fields := map[string]any{}
	for key, value := range c.fields {
		if key != "num_labels" {
			fields[key] = value
		}
	}
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
