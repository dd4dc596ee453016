package finetune

import (
	"bytes"
	"embed"
	"fmt"
	"path"

	"github.com/spago-peft/spago-peft/integration/dataset"
)

// sampleFS holds the embedded sample: short movie-review-like sentences written for this project,
// labelled 1 (positive) or 0 (negative), in GLUE layout.
//
//go:embed sample/train.tsv sample/dev.tsv
var sampleFS embed.FS

// sampleName is how errors and reports name the files of the embedded sample.
const sampleName = "embedded sample/"

// Sample returns the embedded sample's training and dev sets: a few hundred short sentences
// about films, written for this project, labelled 1 (positive) or 0 (negative).
func Sample() (train, dev []dataset.Example, err error) {
	t, err := sampleFile(dataset.TrainFile)
	if err != nil {
		return nil, nil, err
	}
	d, err := sampleFile(dataset.DevFile)
	if err != nil {
		return nil, nil, err
	}
	return t.examples, d.examples, nil
}

// sampleFile reads one file of the sample.
func sampleFile(name string) (*dataFile, error) {
	b, err := sampleFS.ReadFile(path.Join("sample", name))
	if err != nil {
		return nil, fmt.Errorf("finetune: %s%s: %w", sampleName, name, err)
	}
	examples, err := dataset.ParseTSV(bytes.NewReader(b), sampleName+name)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return &dataFile{name: sampleName + name, examples: examples}, nil
}
