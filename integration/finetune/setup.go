package finetune

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/tokenizer/hfjson"
	"github.com/spago-peft/spago-peft/integration/train"
)

// Setup is what training runs on: a loaded base checkpoint with its tokenizer, and tokenised
// training and dev sets.
type Setup struct {
	// Checkpoint is the base; Setup.Train copies its weights into each new model.
	Checkpoint *checkpoint.Checkpoint
	// Tokenizer is the base's tokenizer.
	Tokenizer tokenizer.Encoder
	// BaseModel is the base's name as saved adapters record it: Job.Model (as an absolute path
	// if it is a local directory), or DefaultBaseName.
	BaseModel string
	// BaseGiven is Job.Model as given (or DefaultBaseName); BaseFingerprint is the base's
	// Fingerprint. Saved adapters record both, and LoadAdapter checks the fingerprint.
	BaseGiven, BaseFingerprint string
	// BaseDescription says which base this is (see Result.BaseDescription); RandomBase reports
	// the offline default.
	BaseDescription string
	RandomBase      bool
	// TrainSet and DevSet are the tokenised examples; TrainSource and DevSource say where they came
	// from (file names, or the embedded sample).
	TrainSet, DevSet       []train.Example
	TrainSource, DevSource string
	// NumLabels is the number of classes of the classification head, 1 for TaskRegress.
	NumLabels int
	// MaxLen is the length sequences were truncated to.
	MaxLen int
	// Task is the job's task (TaskClassify when it named none); TagNames are the tags of
	// TaskTokens, sorted, the head's classes in order; LabelNames the class names of
	// TaskClassify's data (Job.Columns.LabelNames), if it names them.
	Task                 string
	TagNames, LabelNames []string
}

// Prepare loads the base model and the data of job and tokenises the data. Errors name what
// failed: the model directory or repository (wrapping the checkpoint package's errors), or the
// data file and line (wrapping dataset.ErrMalformed, or dataset.ErrLabelRange for a label the
// head cannot predict).
func Prepare(ctx context.Context, job Job) (*Setup, error) {
	if err := job.validateData(); err != nil {
		return nil, err
	}
	note := func(format string, args ...any) {
		if job.OnLoad != nil {
			job.OnLoad(fmt.Sprintf(format, args...))
		}
	}
	s := &Setup{}
	var err error
	if job.Model == "" || job.Model == DefaultBaseName {
		note("base: %s", DefaultBaseDescription)
		s.Checkpoint, s.Tokenizer, err = DefaultBase()
		s.BaseModel, s.BaseDescription, s.RandomBase = DefaultBaseName, DefaultBaseDescription, true
	} else {
		s.BaseModel = recordedName(job.Model)
		note("base: loading %s", job.Model)
		s.Checkpoint, s.Tokenizer, err = LoadBase(ctx, job.Model, job.Download)
		if err == nil {
			c := s.Checkpoint.Config
			s.BaseDescription = fmt.Sprintf("%s (%d layers, hidden %d, vocabulary %d)", job.Model, c.NumHiddenLayers, c.HiddenSize, c.VocabSize)
		}
	}
	if err != nil {
		return nil, err
	}
	s.BaseGiven, s.BaseFingerprint = cmp.Or(job.Model, DefaultBaseName), Fingerprint(s.Checkpoint)

	s.MaxLen = job.MaxLen
	maxPos := s.Checkpoint.Config.MaxTokens()
	if s.MaxLen == 0 {
		s.MaxLen = min(128, maxPos)
	} else if s.MaxLen > maxPos {
		return nil, fmt.Errorf("%w: max length %d exceeds the model's %d position embeddings", ErrInvalidJob, s.MaxLen, maxPos)
	}

	s.Task = cmp.Or(job.Task, TaskClassify)
	if s.Task == TaskTokens {
		start := time.Now()
		if err := s.prepareTokens(job, note); err != nil {
			return nil, err
		}
		note("tokenised %d sentences (max length %d) in %v", len(s.TrainSet)+len(s.DevSet), s.MaxLen, time.Since(start).Round(time.Millisecond))
		return s, ctx.Err()
	}
	start := time.Now()
	d, err := readData(job)
	if err != nil {
		return nil, err
	}
	note("data: %d training rows from %s, %d dev rows from %s (%v)", len(d.train), d.trainSource, len(d.dev), d.devSource, time.Since(start).Round(time.Millisecond))
	s.TrainSource, s.DevSource = d.trainSource, d.devSource

	s.NumLabels = headLabels(s.Checkpoint, job.NumLabels)
	switch {
	case job.Task == TaskRegress:
		s.NumLabels = 1
	case job.NumLabels == 0 && len(job.Columns.LabelNames) > 0:
		s.NumLabels = len(job.Columns.LabelNames)
	}
	if s.NumLabels == len(job.Columns.LabelNames) {
		s.LabelNames = job.Columns.LabelNames
	}
	if s.NumLabels == 0 {
		if err := d.checkDenseLabels(); err != nil {
			return nil, err
		}
		s.NumLabels = max(2, dataset.NumLabels(d.train), dataset.NumLabels(d.dev))
	}
	if err := d.checkLabels(s.NumLabels); err != nil {
		return nil, err
	}

	start = time.Now()
	s.TrainSet = Encode(s.Tokenizer, d.train, s.MaxLen)
	s.DevSet = Encode(s.Tokenizer, d.dev, s.MaxLen)
	note("tokenised %d rows (max length %d) in %v", len(s.TrainSet)+len(s.DevSet), s.MaxLen, time.Since(start).Round(time.Millisecond))
	return s, ctx.Err()
}

// LoadBase loads a checkpoint and its tokenizer (hfjson.Auto: tokenizer.json, spm.model or
// vocab.txt) from a local Hugging Face directory or, if no such directory exists, from the hub
// (see checkpoint.Load); DefaultBaseName gives DefaultBase.
// A name that can only be a path (absolute, or starting with ".") is not tried on the hub. Errors
// wrap checkpoint.ErrNotFound when there is no such directory (or a file stands in its place)
// and the hub has no such model.
func LoadBase(ctx context.Context, nameOrDir string, opts checkpoint.DownloadOptions) (*checkpoint.Checkpoint, tokenizer.Encoder, error) {
	if nameOrDir == DefaultBaseName {
		return DefaultBase()
	}
	if nameOrDir == "" {
		return nil, nil, fmt.Errorf("%w: empty model name", checkpoint.ErrNotFound)
	}
	dir := nameOrDir
	info, err := os.Stat(nameOrDir)
	switch {
	case err == nil && !info.IsDir():
		return nil, nil, fmt.Errorf("%w: model %s is a file; want a Hugging Face model directory (config.json, vocab.txt and the weights) or a hub name",
			checkpoint.ErrNotFound, nameOrDir)
	case err != nil && (filepath.IsAbs(nameOrDir) || nameOrDir[0] == '.' || strings.Count(nameOrDir, "/") > 1):
		return nil, nil, fmt.Errorf("%w: model directory %s does not exist", checkpoint.ErrNotFound, nameOrDir)
	case err != nil:
		var derr error
		if dir, derr = checkpoint.Download(ctx, nameOrDir, opts); derr != nil {
			if ctx.Err() != nil {
				return nil, nil, derr
			}
			return nil, nil, fmt.Errorf("model %s: no such local directory, and the hub download failed: %w", nameOrDir, derr)
		}
	}
	ck, err := checkpoint.LoadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := hfjson.Auto(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer of %s: %w", nameOrDir, err)
	}
	return ck, tok, nil
}

// recordedName is how an adapter records the base nameOrDir: a local directory as an absolute
// path, so that the adapter finds it from any working directory; a hub name (or
// DefaultBaseName) as it is.
func recordedName(nameOrDir string) string {
	if nameOrDir == DefaultBaseName {
		return nameOrDir
	}
	if info, err := os.Stat(nameOrDir); err == nil && info.IsDir() {
		if abs, err := filepath.Abs(nameOrDir); err == nil {
			return abs
		}
	}
	return nameOrDir
}

// headLabels returns the number of classes the model's head has or is told to have: want if
// positive, else the checkpoint classifier's, else the number of labels its config names, else 0
// (the data decides).
func headLabels(ck *checkpoint.Checkpoint, want int) int {
	switch {
	case want > 0:
		return want
	case ck.HasClassifier(): // the head's output layer: classifier.out_proj on RoBERTa and ELECTRA
		return ck.Tensors[ck.Config.Architecture().Head.Out+".weight"].Shape[0]
	case len(ck.Config.ID2Label) > 0:
		return ck.Config.NumLabels()
	}
	return 0
}

// Encode tokenises labelled texts as train.Encode does, spread over all CPUs: tokenising is
// otherwise the slow part of loading a large data set.
func Encode(tok tokenizer.Encoder, examples []dataset.Example, maxLen int) []train.Example {
	out := make([]train.Example, len(examples))
	const chunk = 512
	workers := min(runtime.NumCPU(), (len(examples)+chunk-1)/chunk)
	if workers <= 1 {
		return train.Encode(tok, examples, maxLen)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for lo := range next {
				hi := min(lo+chunk, len(examples))
				copy(out[lo:hi], train.Encode(tok, examples[lo:hi], maxLen))
			}
		})
	}
	for lo := 0; lo < len(examples); lo += chunk {
		next <- lo
	}
	close(next)
	wg.Wait()
	return out
}

// validateData checks the fields Prepare uses.
func (job Job) validateData() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidJob}, args...)...)
	}
	switch {
	case job.TrainLimit < 0:
		return bad("train limit = %d, want ≥ 0", job.TrainLimit)
	case job.DevLimit < 0:
		return bad("dev limit = %d, want ≥ 0", job.DevLimit)
	case !(job.DevFraction >= 0 && job.DevFraction < 1):
		return bad("dev fraction = %v, want in (0, 1)", job.DevFraction)
	case job.MaxLen < 0 || job.MaxLen == 1:
		return bad("max length = %d, want ≥ 2 ([CLS] and [SEP])", job.MaxLen)
	case job.Task == TaskRegress && job.NumLabels > 1:
		return bad("%d labels for a regression task, which has one output", job.NumLabels)
	case job.Task == TaskTokens && (job.Columns.Text != "" || job.Columns.Pair != "" || job.Columns.Label != "" || job.Columns.LabelNames != nil):
		return bad("TSV columns for the %s task, whose data are CoNLL files", TaskTokens)
	case job.Task != TaskRegress && (job.NumLabels < 0 || job.NumLabels == 1 || job.NumLabels > dataset.MaxLabels):
		return bad("%d classes, want 0 (from the data) or 2 to %d (one output is the %s task)", job.NumLabels, dataset.MaxLabels, TaskRegress)
	case job.Task != "" && job.Task != TaskClassify && job.Task != TaskRegress && job.Task != TaskTokens:
		return bad("unknown task %q: want %s, %s or %s", job.Task, TaskClassify, TaskRegress, TaskTokens)
	case job.Task == TaskRegress && len(job.Columns.LabelNames) > 0:
		return bad("class names for a regression task, whose labels are numbers")
	case job.DevData != "" && job.Data == "":
		return bad("a dev file needs a training file")
	}
	return nil
}
