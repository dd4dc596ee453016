package finetune

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spago-peft/spago-peft/integration/dataset"
)

// dataFile is one TSV file as read, in file order.
type dataFile struct {
	// name is the path, or "embedded sample/<file>" for the sample.
	name     string
	examples []dataset.Example
	// content returns the bytes of the file, to find the line of a bad example.
	content func() ([]byte, error)
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
	case job.DevData != "":
		if d.trainFile, err = readFile(job.Data); err == nil {
			d.devFile, err = readFile(job.DevData)
		}
	default:
		info, statErr := os.Stat(job.Data)
		switch {
		case statErr != nil:
			err = fmt.Errorf("%w: %w", dataset.ErrMalformed, statErr)
		case info.IsDir():
			if d.trainFile, err = readFile(filepath.Join(job.Data, dataset.TrainFile)); err == nil {
				d.devFile, err = readFile(filepath.Join(job.Data, dataset.DevFile))
			}
		default:
			d.trainFile, err = readFile(job.Data)
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
	d.train, d.trainSource = d.trainFile.examples, d.trainFile.name
	if d.devFile != nil {
		d.dev, d.devSource = d.devFile.examples, d.devFile.name
	} else {
		n := len(d.train)
		if n < 2 {
			return fmt.Errorf("%w: %s: %d example, need at least 2 to hold out a dev set", dataset.ErrMalformed, d.trainFile.name, n)
		}
		frac := job.DevFraction
		if frac == 0 {
			frac = 0.1
		}
		nDev := min(n-1, max(1, int(math.Ceil(frac*float64(n)))))
		shuffled := dataset.Shuffle(d.train, job.Seed)
		d.dev, d.train = shuffled[:nDev], shuffled[nDev:]
		d.devSource = fmt.Sprintf("%s (%d%% held out)", d.trainFile.name, int(math.Round(100*float64(nDev)/float64(n))))
		d.trainSource = fmt.Sprintf("%s (the rest)", d.trainFile.name)
	}
	if job.TrainLimit > 0 && job.TrainLimit < len(d.train) {
		d.train = dataset.Shuffle(d.train, job.Seed)[:job.TrainLimit]
		d.trainSource += fmt.Sprintf(", %d drawn", job.TrainLimit)
	}
	if job.DevLimit > 0 && job.DevLimit < len(d.dev) {
		d.dev = dataset.Shuffle(d.dev, job.Seed)[:job.DevLimit]
		d.devSource += fmt.Sprintf(", %d drawn", job.DevLimit)
	}
	return nil
}

// checkLabels reports the first row, in file order, whose label a head of numLabels classes
// cannot predict, naming its file and line.
func (d *data) checkLabels(numLabels int) error {
	for _, f := range []*dataFile{d.trainFile, d.devFile} {
		if f == nil {
			continue
		}
		for i, e := range f.examples {
			if e.Label < numLabels {
				continue
			}
			where := f.name
			if content, err := f.content(); err == nil {
				where = fmt.Sprintf("%s:%d", f.name, rowLine(content, i))
			}
			return fmt.Errorf("%w: %s: label %d, but the model's head has %d classes (labels 0 to %d)",
				dataset.ErrLabelRange, where, e.Label, numLabels, numLabels-1)
		}
	}
	return nil
}

// rowLine returns the 1-based line number of the example with 0-based index row in a TSV file,
// counting as dataset.ReadTSV does: the header is the first non-empty line and empty lines are
// skipped.
func rowLine(content []byte, row int) int {
	content = bytes.TrimPrefix(content, []byte("\uFEFF"))
	seenHeader := false
	for i, line := range strings.Split(string(content), "\n") {
		if strings.TrimSuffix(line, "\r") == "" {
			continue
		}
		if !seenHeader {
			seenHeader = true
			continue
		}
		if row == 0 {
			return i + 1
		}
		row--
	}
	return 0
}

func readFile(path string) (*dataFile, error) {
	examples, err := dataset.ReadTSV(path)
	if err != nil {
		return nil, err
	}
	return &dataFile{name: path, examples: examples, content: func() ([]byte, error) { return os.ReadFile(path) }}, nil
}
