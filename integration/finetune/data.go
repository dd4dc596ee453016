package finetune

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/integration/dataset"
)

// dataFile is one TSV file as read, in file order.
type dataFile struct {
	// name is the path, or "embedded sample/<file>" for the sample.
	name     string
	examples []dataset.Example
}

// data is the outcome of reading a job's data: the files, then the training and dev examples
// drawn from them.
type data struct {
	trainFile, devFile     *dataFile // devFile is nil when dev is split off trainFile
	train, dev             []dataset.Example
	trainSource, devSource string
}

// readData reads the files job.Data and job.DevData name (see Job.Data) and draws the training and
// dev sets from them.
func readData(job Job) (*data, error) {
	d := &data{}
	var err error
	switch {
	case job.Data == "":
		if d.trainFile, err = sampleFile(dataset.TrainFile); err == nil {
			d.devFile, err = sampleFile(dataset.DevFile)
		}
		if err == nil && job.Task == TaskRegress { // the sample's labels 0 and 1 as scores
			for _, f := range []*dataFile{d.trainFile, d.devFile} {
				for i, e := range f.examples {
					f.examples[i].Score, f.examples[i].Label = float64(e.Label), 0
				}
			}
		}
	default:
		// A directory holds train.tsv and dev.tsv; DevData, if set, replaces its dev.tsv.
		trainPath, devPath := job.Data, job.DevData
		if info, statErr := os.Stat(job.Data); statErr == nil && info.IsDir() {
			trainPath = filepath.Join(job.Data, dataset.TrainFile)
			if devPath == "" {
				devPath = filepath.Join(job.Data, dataset.DevFile)
			}
		}
		cols := job.Columns
		cols.Regression = job.Task == TaskRegress
		if d.trainFile, err = readFile(trainPath, cols); err == nil && devPath != "" {
			d.devFile, err = readFile(devPath, cols)
		}
	}
	if err != nil {
		return nil, err
	}
	return d, d.draw(job)
}

// draw sets the training and dev sets: the dev file, or a seeded part of the training file held
// out, each cut to its limit by a seeded draw.
func (d *data) draw(job Job) error {
	var dev []dataset.Example
	devName := ""
	if d.devFile != nil {
		dev, devName = d.devFile.examples, d.devFile.name
	}
	s, err := drawSets(job, d.trainFile.examples, dev, d.trainFile.name, devName, "example")
	d.train, d.dev, d.trainSource, d.devSource = s.train, s.dev, s.trainSource, s.devSource
	return err
}

// drawn are training and dev sets drawn from files, and where they came from.
type drawn[T any] struct {
	train, dev             []T
	trainSource, devSource string
}

// drawSets draws the training and dev sets of job from the rows of the training file trainName
// and of the dev file devName, or, when devName is "", from a seeded part of the training rows
// held out; each is then cut to its limit by a seeded draw. unit names a row in errors.
func drawSets[T any](job Job, train, dev []T, trainName, devName, unit string) (drawn[T], error) {
	d := drawn[T]{train: train, dev: dev, trainSource: trainName, devSource: devName}
	if devName == "" {
		n := len(d.train)
		if n < 2 {
			return d, fmt.Errorf("%w: %s: %d %s, need at least 2 to hold out a dev set", dataset.ErrMalformed, trainName, n, unit)
		}
		frac := job.DevFraction
		if frac == 0 {
			frac = 0.1
		}
		nDev := min(n-1, max(1, int(math.Ceil(frac*float64(n)))))
		shuffled := dataset.Shuffle(d.train, job.Seed)
		d.dev, d.train = shuffled[:nDev], shuffled[nDev:]
		d.devSource = fmt.Sprintf("%s (%d%% held out)", trainName, int(math.Round(100*float64(nDev)/float64(n))))
		d.trainSource = fmt.Sprintf("%s (the rest)", trainName)
	}
	if job.TrainLimit > 0 && job.TrainLimit < len(d.train) {
		d.train = dataset.Shuffle(d.train, job.Seed)[:job.TrainLimit]
		d.trainSource += fmt.Sprintf(", %d drawn", job.TrainLimit)
	}
	if job.DevLimit > 0 && job.DevLimit < len(d.dev) {
		d.dev = dataset.Shuffle(d.dev, job.Seed)[:job.DevLimit]
		d.devSource += fmt.Sprintf(", %d drawn", job.DevLimit)
	}
	return d, nil
}

// checkLabels reports the first row, in file order, whose label a head of numLabels classes
// cannot predict, naming its file and line.
func (d *data) checkLabels(numLabels int) error {
	for _, f := range []*dataFile{d.trainFile, d.devFile} {
		if f == nil {
			continue
		}
		for _, e := range f.examples {
			if e.Label < numLabels {
				continue
			}
			return fmt.Errorf("%w: %s:%d: label %d, but the model's head has %d classes (labels 0 to %d)",
				dataset.ErrLabelRange, e.File, e.Line, e.Label, numLabels, numLabels-1)
		}
	}
	return nil
}

func readFile(path string, cols dataset.Columns) (*dataFile, error) {
	examples, err := dataset.ReadTSVColumns(path, cols)
	if err != nil {
		return nil, err
	}
	return &dataFile{name: path, examples: examples}, nil
}

// checkDenseLabels reports labels that do not number the classes densely from 0: a class
// below the largest label with no row in either file is most often a typing mistake (a label
// 1000000 among 0s and 1s would build a head of a million classes), so it is refused unless
// the number of classes is declared.
func (d *data) checkDenseLabels() error {
	seen := map[int]bool{}
	var top dataset.Example
	for _, f := range []*dataFile{d.trainFile, d.devFile} {
		if f == nil {
			continue
		}
		for _, e := range f.examples {
			seen[e.Label] = true
			if e.Label > top.Label || top.File == "" {
				top = e
			}
		}
	}
	for class := range top.Label {
		if !seen[class] {
			return fmt.Errorf("%w: %s:%d: label %d, but no row has label %d: labels must number the classes 0, 1, 2, … "+
				"(declare the number of classes if some have no rows)", dataset.ErrLabelRange, top.File, top.Line, top.Label, class)
		}
	}
	return nil
}
