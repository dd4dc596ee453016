package dataset_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spago-peft/spago-peft/integration/dataset"
)

func Example() {
	dir, _ := os.MkdirTemp("", "dataset")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.tsv")
	_ = os.WriteFile(path, []byte("sentence\tlabel\na gripping story\t1\nflat and lifeless\t0\nbland\tnegative\n"), 0o644)

	_, err := dataset.ReadTSV(path)
	fmt.Println(errors.Is(err, dataset.ErrMalformed), strings.HasSuffix(err.Error(), `train.tsv:4: label "negative" is not an integer`))

	_ = os.WriteFile(path, []byte("sentence\tlabel\na gripping story\t1\nflat and lifeless\t0\nbland\t0\n"), 0o644)
	examples, _ := dataset.ReadTSV(path)
	fmt.Println(len(examples), "examples,", dataset.NumLabels(examples), "labels")
	for _, batch := range dataset.Batches(dataset.Order(len(examples), 1, 0), 2) {
		fmt.Println(batch)
	}
	// Output:
	// true true
	// 3 examples, 2 labels
	// [2 0]
	// [1]
}
