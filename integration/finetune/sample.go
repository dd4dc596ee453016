package finetune

import (
	"embed"
	"fmt"
	"os"
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

// sampleFile reads one file of the sample with dataset.ReadTSV, through a temporary file since
// the reader takes a path.
func sampleFile(name string) (*dataFile, error) {
	content := func() ([]byte, error) { return sampleFS.ReadFile(path.Join("sample", name)) }
	b, err := content()
	if err != nil {
		return nil, fmt.Errorf("finetune: %s%s: %w", sampleName, name, err)
	}
	tmp, err := os.CreateTemp("", "finetune-sample-*.tsv")
	if err != nil {
		return nil, fmt.Errorf("finetune: %s%s: %w", sampleName, name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("finetune: %s%s: %w", sampleName, name, err)
	}
	examples, err := dataset.ReadTSV(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("finetune: %s%s: %w", sampleName, name, err)
	}
	return &dataFile{name: sampleName + name, examples: examples, content: content}, nil
}
