package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/atomicdir"
	"github.com/spago-peft/spago-peft/peft"
)

// ErrInvalidJob reports a Job that cannot run, such as a negative batch size or a maximum length
// beyond the model's position embeddings.
var ErrInvalidJob = errors.New("finetune: invalid job")

// ErrDiverged reports a run stopped because its training loss grew far beyond its start, as it
// does with a learning rate much too high; nothing is saved from such a run.
var ErrDiverged = errors.New("finetune: training diverged")

// Job describes one fine-tuning run. Zero fields take the defaults in their comments.
type Job struct {
	// Model is a local Hugging Face model directory or a hub repository name; empty (or
	// DefaultBaseName) selects the offline default base, a small randomly initialised BERT (see
	// DefaultBase).
	Model string
	// Download configures hub downloads when Model is a repository name.
	Download checkpoint.DownloadOptions
	// Data is a GLUE-style directory holding train.tsv and dev.tsv, or one TSV file from which
	// DevFraction of the rows, drawn with Seed, are held out as the dev set; empty selects the
	// embedded sample (see Sample).
	Data string
	// DevData, if set, is the dev TSV file: it replaces the dev.tsv of a Data directory, or
	// makes a Data file be used whole for training.
	DevData string
	// TrainLimit, if positive, trains on at most this many rows, drawn with Seed: a reduced budget
	// on a large set such as SST-2. DevLimit does the same for the dev set.
	TrainLimit, DevLimit int
	// DevFraction is the part of a single data file held out for dev (default 0.1).
	DevFraction float64
	// Task is TaskClassify (the default), TaskRegress or TaskTokens (whose Data are CoNLL files).
	Task string
	// Columns chooses the columns of the TSV files by header name: sentence pairs, class names
	// (see dataset.Columns; Regression is set by Task).
	Columns dataset.Columns
	// MaxLen is the longest token sequence, [CLS] and [SEP] included; longer sentences are
	// truncated (default 128, at most the model's position embeddings).
	MaxLen int
	// NumLabels is the number of classes, 2 to dataset.MaxLabels (default: the number of
	// Columns.LabelNames, else the checkpoint's classifier's, else the number its config
	// declares, else one more than the largest label in the data, at least 2, when every smaller
	// label has a row); 1 (or 0) for TaskRegress.
	NumLabels int

	// Adapter builds the adapters; nil trains the classification head alone, or every weight with
	// FullFineTune. Method.Adapter turns a method name and options into these two fields.
	Adapter      peft.Config
	FullFineTune bool
	// Targets chooses the adapted modules (default bert.DefaultTargets of the base: for BERT
	// peft.DefaultBertTargets, query and value with pooler and classifier trained in full; for
	// the other architectures PEFT's defaults with their head trained in full).
	Targets peft.Targets
	// Dropout is the hidden dropout probability during training (default 0).
	Dropout float64
	// AttentionDropout is the dropout probability of the attention probabilities during training
	// (default 0; Hugging Face's attention_probs_dropout_prob).
	AttentionDropout float64
	// MaxGradNorm caps the global gradient norm of each step (default 1, negative for none), as
	// train.Options.MaxGradNorm.
	MaxGradNorm float64

	// Epochs, Steps, BatchSize, WarmupRatio, WeightDecay, Workers and EvalEvery are those of
	// train.Options; zero takes train's defaults, except BatchSize (default 32) and WarmupRatio
	// (default 0.06, negative for none).
	Epochs, Steps, BatchSize, Workers, EvalEvery int
	WarmupRatio, WeightDecay                     float64
	// LR is the peak learning rate (default DefaultLR of the method).
	LR float64
	// Seed draws the new weights, the example order, the dev split and the row limits.
	Seed uint64

	// OnLoad, if set, receives a line about each loading stage (base model, data, tokenising).
	OnLoad func(msg string)
	// OnStep and OnEval, if set, are called after each optimiser step and evaluation.
	OnStep func(train.StepInfo)
	OnEval func(train.EvalInfo)
}

// Result is the outcome of a fine-tuning run.
type Result struct {
	// Model is the fine-tuned model, in evaluation mode; Tokenizer is its tokenizer.
	Model     *bert.Model
	Tokenizer tokenizer.Encoder
	// Method describes the adapter configuration, such as "hra r=8", "head" or "full".
	Method string
	// Dev holds the dev-set metrics after the last step: loss and accuracy, or for TaskRegress
	// the mean squared error and the correlations.
	Dev train.Metrics
	// FinalTrainLoss is the mean training loss of the last 10 steps (or fewer if there were
	// fewer), less noisy than the last step's.
	FinalTrainLoss float64
	// Trainable and Total count scalar parameters as PEFT does (Total includes the adapters);
	// Base is Total without the adapters, the size of the model being adapted.
	Trainable, Total, Base int
	// History records every step and evaluation.
	History train.History
	// Steps is the number of optimiser steps taken.
	Steps int
	// TrainTime is the wall time of training, evaluations included; StepTime the mean time of an
	// optimiser step, evaluations excluded.
	TrainTime, StepTime time.Duration
	// PeakHeapBytes is the largest Go heap (bytes of live and not yet collected objects) seen
	// while training, sampled every few milliseconds: base model, data and training graphs
	// included.
	PeakHeapBytes uint64
	// BaseDescription says which base was trained, such as "../shared/models/sst-bert-tiny (2
	// layers, hidden 128)" or the offline default's warning that it is randomly initialised.
	BaseDescription string
	// RandomBase reports that the base is the offline default, not a pretrained checkpoint.
	RandomBase bool
	// BaseModel is the base's name for saved adapters (see Setup.BaseModel); BaseGiven and
	// BaseFingerprint identify it further (see Setup.BaseGiven).
	BaseModel, BaseGiven, BaseFingerprint string
	// MaxLen is the length sequences were truncated to in training.
	MaxLen int
	// LabelNames name the classes in order: the tags of a token classifier (TaskTokens), or
	// Job.Columns.LabelNames; nil when the data name none. SaveAdapter records them.
	LabelNames []string
}

// SaveAdapter writes the trained adapters and classification head to dir in PEFT's format
// (bert.Model.SaveAdapter), atomically, recording the base's name so that LoadAdapter finds it,
// and its name as given and Fingerprint in the safetensors metadata, so that LoadAdapter can
// tell another base.
// Models without adapters (head-only or full fine-tuning) cannot be saved this way.
func (r *Result) SaveAdapter(dir string) error {
	// An absolute path: replacing an existing "name" given without a directory part fails in
	// internal/atomicdir, which then syncs the parent "" instead of ".".
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	md := map[string]string{MetaBaseModel: r.BaseGiven, MetaBaseFingerprint: r.BaseFingerprint}
	if r.LabelNames != nil {
		names, err := json.Marshal(r.LabelNames)
		if err != nil {
			return err
		}
		md[MetaLabelNames] = string(names)
	}
	return r.Model.SaveAdapter(abs, peft.Meta{BaseModel: r.BaseModel, FileMetadata: md})
}

// ErrDestination reports a directory SaveAdapter cannot write (see CheckAdapterDir).
var ErrDestination = atomicdir.ErrDestination

// CheckAdapterDir reports, wrapping ErrDestination, what would make SaveAdapter(dir) fail: a
// file or a dangling link in its place, a directory that cannot be written, or other
// subdirectories in it. Run it before training, so that a run never fails at its end for this.
func CheckAdapterDir(dir string) error {
	return atomicdir.Check(dir, []string{peft.AdapterConfigFile, peft.AdapterWeightsFile})
}

// PercentOfBase is Trainable as a percentage of Base.
func (r *Result) PercentOfBase() float64 {
	if r.Base == 0 {
		return 0
	}
	return 100 * float64(r.Trainable) / float64(r.Base)
}

// Run prepares the base and the data of job and trains it: Prepare followed by Setup.Train.
func Run(ctx context.Context, job Job) (*Result, error) {
	s, err := Prepare(ctx, job)
	if err != nil {
		return nil, err
	}
	return s.Train(ctx, job)
}

// Train fine-tunes a new model on s with the method and training options of job; the fields of
// job that choose the base and the data (Model, Download, Data, DevData, TrainLimit, DevLimit,
// DevFraction, MaxLen, NumLabels) are ignored, since s holds their outcome. Each call builds a
// fresh model from the same base, so calls with different methods are comparable.
func (s *Setup) Train(ctx context.Context, job Job) (*Result, error) {
	if err := job.validateTraining(); err != nil {
		return nil, err
	}
	targets := job.Targets
	if len(targets.Modules) == 0 && len(targets.ModulesToSave) == 0 && len(targets.LayersToTransform) == 0 {
		targets = bert.DefaultTargets(s.Checkpoint.Config)
	} else if slices.Equal(targets.ModulesToSave, peft.DefaultBertTargets.ModulesToSave) {
		targets.ModulesToSave = bert.DefaultTargets(s.Checkpoint.Config).ModulesToSave // the architecture's head
	}
	if s.Task == TaskTokens { // BertForTokenClassification has no pooler to train
		targets = withoutPooler(targets)
	}
	model, err := bert.New(s.Checkpoint, bert.Options{
		Adapter: job.Adapter, Targets: targets, NumLabels: s.NumLabels, Seed: job.Seed,
		FullFineTune: job.FullFineTune, HiddenDropout: job.Dropout, AttentionDropout: job.AttentionDropout,
		TokenClassification: s.Task == TaskTokens,
	})
	if err != nil {
		return nil, err
	}
	trainable, total := model.NumParams()
	adapterParams := 0
	for _, a := range model.Adapters() {
		adapterParams += peft.CountParams(a.TrainableParams())
	}
	res := &Result{
		Model: model, Tokenizer: s.Tokenizer, Method: describeJob(job),
		Trainable: trainable, Total: total, Base: total - adapterParams,
		BaseDescription: s.BaseDescription, RandomBase: s.RandomBase, BaseModel: s.BaseModel, MaxLen: s.MaxLen,
		BaseGiven: s.BaseGiven, BaseFingerprint: s.BaseFingerprint, LabelNames: s.TagNames,
	}
	if s.Task == TaskClassify {
		res.LabelNames = s.LabelNames
	}
	if res.LabelNames != nil { // for the merged export's id2label
		if err := model.SetLabelNames(res.LabelNames); err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
	}
	opts := train.Options{
		Epochs: job.Epochs, Steps: job.Steps, BatchSize: orDefault(job.BatchSize, 32),
		LR: job.LR, WarmupRatio: job.WarmupRatio, WeightDecay: job.WeightDecay, Seed: job.Seed,
		Workers: job.Workers, EvalSet: s.DevSet, EvalEvery: job.EvalEvery, MaxGradNorm: job.MaxGradNorm,
		OnEval: job.OnEval, TagNames: s.TagNames,
	}
	if opts.LR == 0 {
		opts.LR = DefaultLR(job.Adapter, job.FullFineTune)
	}
	switch {
	case opts.WarmupRatio == 0:
		opts.WarmupRatio = 0.06
	case opts.WarmupRatio < 0:
		opts.WarmupRatio = 0
	}
	watch := &divergenceWatch{}
	opts.OnStep = func(info train.StepInfo) {
		watch.observe(info)
		if job.OnStep != nil {
			job.OnStep(info)
		}
	}
	opts.Check = func() error {
		if err := watch.err(); err != nil {
			return err
		}
		for name, a := range model.Adapters() {
			if err := a.Validate(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}

	runtime.GC()
	peak := startHeapSampler()
	start := time.Now()
	history, err := train.Fit(ctx, model, s.TrainSet, opts)
	res.TrainTime = time.Since(start)
	res.PeakHeapBytes = peak.stop()
	res.History = history
	if err != nil {
		return res, err
	}
	model.SetTraining(false)
	res.Steps = len(history.Steps)
	var stepTime time.Duration
	for _, st := range history.Steps {
		if st.ExamplesPerSec > 0 {
			stepTime += time.Duration(float64(st.Examples) / st.ExamplesPerSec * float64(time.Second))
		}
	}
	if res.Steps > 0 {
		res.StepTime = stepTime / time.Duration(res.Steps)
		last := history.Steps[max(0, res.Steps-10):]
		for _, st := range last {
			res.FinalTrainLoss += st.Loss
		}
		res.FinalTrainLoss /= float64(len(last))
	}
	if n := len(history.Evals); n > 0 {
		res.Dev = history.Evals[n-1].Metrics
	}
	return res, nil
}

// DefaultLR is the peak learning rate used when Job.LR is 0: higher for adapters and the head,
// which start from zero or identity updates, than for full fine-tuning.
func DefaultLR(adapter peft.Config, full bool) float64 {
	switch {
	case full:
		return 1e-4
	case adapter == nil:
		return 2e-3
	}
	switch adapter.PeftType() {
	case "LORA":
		return 1e-3
	default:
		return 2e-3
	}
}

func describeJob(job Job) string {
	if job.FullFineTune {
		return KindFull
	}
	return Describe(job.Adapter)
}

// validateTraining checks the fields Setup.Train uses.
func (job Job) validateTraining() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidJob}, args...)...)
	}
	switch {
	case job.Epochs < 0:
		return bad("epochs = %d, want ≥ 0", job.Epochs)
	case job.Steps < 0:
		return bad("steps = %d, want ≥ 0", job.Steps)
	case job.BatchSize < 0:
		return bad("batch size = %d, want ≥ 1", job.BatchSize)
	case job.Workers < 0:
		return bad("workers = %d, want ≥ 1", job.Workers)
	case job.EvalEvery < 0:
		return bad("eval every = %d, want ≥ 0", job.EvalEvery)
	case job.LR < 0:
		return bad("learning rate = %v, want > 0", job.LR)
	case job.WarmupRatio > 1:
		return bad("warm-up ratio = %v, want ≤ 1", job.WarmupRatio)
	case job.WeightDecay < 0:
		return bad("weight decay = %v, want ≥ 0", job.WeightDecay)
	case job.FullFineTune && job.Adapter != nil:
		return bad("full fine-tuning trains every weight and takes no adapter")
	}
	return nil
}
