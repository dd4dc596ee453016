package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/peft"
)

// trainFlags are the options of a training run.
type trainFlags struct {
	model, data, dev, adapter, targets, save   string
	task, text, pair, label, labelNames        string
	r, epochs, steps, batch, maxLen, workers   int
	trainLimit, devLimit, evalEvery, numLabels int
	lambda, lr, dropout                        float64
	gs                                         bool
	seed                                       uint64
}

// Defaults that depend on the data: the embedded sample is small, so it takes more passes.
const (
	sampleEpochs = 30
	dataEpochs   = 3
	sampleBatch  = 16
	dataBatch    = 32
)

func parseTrainFlags(args []string, stderr io.Writer) (trainFlags, error) {
	var f trainFlags
	fs := flag.NewFlagSet("sentiment", flag.ContinueOnError)
	fs.StringVar(&f.model, "model", "", "base model: a local Hugging Face directory or a hub name (default: a small BERT with RANDOM weights, built offline)")
	fs.StringVar(&f.data, "data", "", "GLUE-style directory with train.tsv and dev.tsv, or one TSV file (a tenth held out for dev) (default: the embedded sample)")
	fs.StringVar(&f.dev, "dev", "", "dev TSV file, when --data is a training file")
	fs.StringVar(&f.task, "task", finetune.TaskClassify, "classify (sentences or pairs into classes), regress (a score per sentence or pair, as STS-B) or tokens (a tag per word, as CoNLL-2003 NER; --data: CoNLL files)")
	fs.StringVar(&f.text, "text", "", `text column (default "sentence", or sentence1 of GLUE's pair layouts)`)
	fs.StringVar(&f.pair, "pair", "", "second-sentence column: train on sentence pairs (default: sentence2 when the header has sentence1 and sentence2)")
	fs.StringVar(&f.label, "label", "", `label column (default "label", or "score" for --task regress)`)
	fs.StringVar(&f.labelNames, "label-names", "", "comma-separated class names the label column holds, in class order (e.g. entailment,not_entailment for RTE)")
	fs.StringVar(&f.adapter, "adapter", finetune.KindHRA, "adapter: hra, lora or oft")
	fs.IntVar(&f.r, "r", 0, fmt.Sprintf("HRA reflections / LoRA rank / OFT blocks (default %d, %d, block size %d)", finetune.DefaultHRARank, finetune.DefaultLoRARank, finetune.DefaultOFTBlockSize))
	fs.Float64Var(&f.lambda, "lambda", 0, "HRA orthogonality regularisation weight")
	fs.BoolVar(&f.gs, "gs", false, "HRA with Gram-Schmidt orthogonalisation")
	fs.StringVar(&f.targets, "targets", "query,value", "comma-separated modules to adapt (e.g. query,key,value,attention.output.dense)")
	fs.IntVar(&f.epochs, "epochs", 0, fmt.Sprintf("passes over the training data (default %d on the embedded sample, %d otherwise)", sampleEpochs, dataEpochs))
	fs.IntVar(&f.steps, "steps", 0, "stop after this many optimiser steps (overrides --epochs)")
	fs.IntVar(&f.batch, "batch", 0, fmt.Sprintf("examples per step (default %d on the embedded sample, %d otherwise)", sampleBatch, dataBatch))
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (default: the method's, see finetune.DefaultLR)")
	fs.Float64Var(&f.dropout, "dropout", 0.1, "hidden dropout probability while training, as BERT's hidden_dropout_prob")
	fs.IntVar(&f.maxLen, "max-len", 0, "longest token sequence; longer sentences are truncated (default 128, or the model's limit if lower)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the adapter's initialisation, the data order and the dev split")
	fs.StringVar(&f.save, "save", "sentiment-adapter", `directory to save the adapter in (PEFT format); "" to skip`)
	fs.IntVar(&f.workers, "workers", 0, "goroutines sharing each batch (default: number of CPUs)")
	fs.IntVar(&f.numLabels, "num-labels", 0, "classes of the classifier (default: the checkpoint's head, else the labels in the data)")
	fs.IntVar(&f.trainLimit, "train-limit", 0, "train on at most this many rows, drawn at random (0: all)")
	fs.IntVar(&f.devLimit, "dev-limit", 0, "evaluate on at most this many dev rows (0: all)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "evaluate every this many steps (default: every epoch)")
	// The flag package prints the usage on every parse error; run prints one line instead, and
	// the usage only on request.
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, "Usage:\n  sentiment [flags]                                  fine-tune and save an adapter\n"+
				"  sentiment predict --adapter-dir DIR [sentence ...]  classify sentences (or stdin lines)\n\nFlags:\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			fmt.Fprint(stderr, exitStatuses)
			return f, errHelp
		}
		return f, usageError{fmt.Errorf("%w (see --help)", err)}
	}
	if fs.NArg() > 0 {
		return f, usageError{fmt.Errorf("unexpected argument %q (did you mean: sentiment predict ...?)", fs.Arg(0))}
	}
	if err := checkSetFlags(fs, f); err != nil {
		return f, usageError{err}
	}
	return f, nil
}

// job turns the flags into a fine-tuning job.
func (f trainFlags) job() (finetune.Job, error) {
	kind, err := finetune.ParseKind(f.adapter)
	if err == nil && (kind == finetune.KindHead || kind == finetune.KindFull) {
		err = fmt.Errorf("--adapter %s: this example saves adapters; choose hra, lora or oft (examples/compare trains %s)", f.adapter, kind)
	}
	if err != nil {
		return finetune.Job{}, usageError{err}
	}
	adapter, _, err := finetune.Method{Kind: kind, R: f.r, Lambda: f.lambda, GS: f.gs}.Adapter()
	if err != nil {
		return finetune.Job{}, usageError{err}
	}
	task, err := finetune.ParseTask(f.task)
	if err != nil {
		return finetune.Job{}, usageError{fmt.Errorf("--task: %w", err)}
	}
	cols := dataset.Columns{Text: strings.TrimSpace(f.text), Pair: strings.TrimSpace(f.pair), Label: strings.TrimSpace(f.label)}
	if f.labelNames != "" {
		for _, name := range strings.Split(f.labelNames, ",") {
			if name = strings.TrimSpace(name); name == "" || slices.Contains(cols.LabelNames, name) {
				return finetune.Job{}, usageError{fmt.Errorf("--label-names %q: want distinct, non-empty comma-separated names", f.labelNames)}
			}
			cols.LabelNames = append(cols.LabelNames, name)
		}
	}
	job := finetune.Job{
		Model: f.model, Data: f.data, DevData: f.dev, TrainLimit: f.trainLimit, DevLimit: f.devLimit,
		MaxLen: f.maxLen, NumLabels: f.numLabels, Adapter: adapter, Targets: finetune.ParseTargets(f.targets),
		Epochs: f.epochs, Steps: f.steps, BatchSize: f.batch, Workers: f.workers, EvalEvery: f.evalEvery,
		LR: f.lr, Seed: f.seed, Dropout: f.dropout, Task: task, Columns: cols,
	}
	if job.Epochs == 0 {
		job.Epochs = dataEpochs
		if f.data == "" {
			job.Epochs = sampleEpochs
		}
	}
	if job.BatchSize == 0 {
		job.BatchSize = dataBatch
		if f.data == "" {
			job.BatchSize = sampleBatch
		}
	}
	switch {
	case f.maxLen < 0 || f.maxLen == 1:
		return job, usageError{fmt.Errorf("--max-len %d: want at least 2 ([CLS] and [SEP])", f.maxLen)}
	case f.epochs < 0 || f.steps < 0 || f.batch < 0 || f.workers < 0 || f.trainLimit < 0 || f.devLimit < 0 || f.evalEvery < 0 || f.r < 0 || f.numLabels < 0:
		return job, usageError{errors.New("--epochs, --steps, --batch, --workers, --r, --num-labels and the limits must not be negative")}
	case f.lr < 0 || math.IsNaN(f.lr) || math.IsInf(f.lr, 0):
		return job, usageError{fmt.Errorf("--lr %v: want a positive learning rate", f.lr)}
	case !(f.dropout >= 0 && f.dropout < 1):
		return job, usageError{fmt.Errorf("--dropout %v: want a probability in [0, 1)", f.dropout)}
	}
	return job, nil
}

// runTrain fine-tunes as the flags in args say and reports to stdout; see train.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseTrainFlags(args, stderr)
	if err != nil {
		return err
	}
	_, err = trainAndSave(ctx, f, stdout, stderr)
	return err
}

// trainAndSave runs the job of f: it loads the base and the data, trains with a progress bar on
// stderr, prints the results on stdout and saves the adapter. Errors in the input are
// usageErrors.
func trainAndSave(ctx context.Context, f trainFlags, stdout, stderr io.Writer) (*finetune.Result, error) {
	job, err := f.job()
	if err != nil {
		return nil, err
	}
	if f.save != "" {
		if err := finetune.CheckAdapterDir(f.save); err != nil {
			return nil, usageError{fmt.Errorf("--save: %w", err)}
		}
	}
	job.OnLoad = func(msg string) { fmt.Fprintln(stderr, msg) }
	job.Download.Progress = downloadProgress(stderr)
	setup, err := finetune.Prepare(ctx, job)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, usageError{err}
	}
	if setup.RandomBase {
		fmt.Fprintln(stdout, "base:      a small BERT with RANDOM weights built offline (not pretrained): accuracy here only shows the code works.")
		fmt.Fprintln(stdout, "           For a real checkpoint: --model DIR (Hugging Face layout) or --model hub-name, e.g. --model bert-base-uncased")
	} else {
		fmt.Fprintf(stdout, "base:      %s\n", setup.BaseDescription)
	}
	what, labels := "sentences", fmt.Sprintf("%d labels", setup.NumLabels)
	if len(setup.TrainSet) > 0 && slices.Contains(setup.TrainSet[0].TypeIDs, 1) {
		what = "sentence pairs"
	}
	switch job.Task {
	case finetune.TaskRegress:
		labels = "scores (regression)"
	case finetune.TaskTokens:
		labels = fmt.Sprintf("%d tags (%s)", len(setup.TagNames), strings.Join(setup.TagNames, " "))
	}
	fmt.Fprintf(stdout, "data:      %d training %s (%s), %d dev (%s), %s\n",
		len(setup.TrainSet), what, setup.TrainSource, len(setup.DevSet), setup.DevSource, labels)

	steps := job.Steps
	if steps == 0 {
		steps = job.Epochs * ((len(setup.TrainSet) + job.BatchSize - 1) / job.BatchSize)
	}
	bar := newProgress(stderr, steps)
	job.OnStep, job.OnEval = bar.step, bar.evaluated
	res, err := setup.Train(ctx, job)
	bar.done()
	if err != nil {
		if errors.Is(err, finetune.ErrInvalidJob) || errors.Is(err, peft.ErrInvalidConfig) || errors.Is(err, peft.ErrUnknownTarget) {
			return nil, usageError{err}
		}
		return nil, err
	}
	head := "classification head"
	switch job.Task {
	case finetune.TaskRegress:
		head = "regression head (one output)"
	case finetune.TaskTokens:
		head = "token classification head"
	}
	fmt.Fprintf(stdout, "method:    %s on %s, %s trained in full; lr %.2g, batch %d, dropout %.2g\n",
		res.Method, strings.Join(job.Targets.Modules, ","), head, lrOf(job), job.BatchSize, job.Dropout)
	fmt.Fprintf(stdout, "trainable: %s of %s parameters (%.2f%% of the base)\n", thousands(res.Trainable), thousands(res.Base), res.PercentOfBase())
	fmt.Fprintf(stdout, "training:  %d steps in %v (%v per step), final train loss %.4f\n",
		res.Steps, res.TrainTime.Round(100e6), res.StepTime.Round(1e5), res.FinalTrainLoss)
	switch job.Task {
	case finetune.TaskRegress:
		fmt.Fprintf(stdout, "dev:       Pearson %.3f, Spearman %.3f (%d %s), mean squared error %.4f\n", res.Dev.Pearson, res.Dev.Spearman, res.Dev.Examples, what, res.Dev.Loss)
	case finetune.TaskTokens:
		fmt.Fprintf(stdout, "dev:       entity F1 %.3f (precision %.3f, recall %.3f), word accuracy %.1f%% (%d words in %d sentences), loss %.4f\n",
			res.Dev.EntityF1, res.Dev.EntityPrecision, res.Dev.EntityRecall, 100*res.Dev.Accuracy, res.Dev.Tokens, res.Dev.Examples, res.Dev.Loss)
	default:
		fmt.Fprintf(stdout, "dev:       accuracy %.1f%% (%d %s), loss %.4f\n", 100*res.Dev.Accuracy, res.Dev.Examples, what, res.Dev.Loss)
	}
	if f.save == "" {
		return res, nil
	}
	if err := res.SaveAdapter(f.save); err != nil {
		return res, fmt.Errorf("saving the adapter: %w", err)
	}
	fmt.Fprintf(stdout, "saved:     %s (PEFT format: adapter_config.json, adapter_model.safetensors)\n", f.save)
	example := "a warm and funny film"
	if job.Task == finetune.TaskTokens {
		example = "Peter Blackburn flew to Brussels"
	}
	fmt.Fprintf(stdout, "try:       go run ./examples/sentiment predict --adapter-dir %s %q\n", f.save, example)
	return res, nil
}

// lrOf is the learning rate the job trains with.
func lrOf(job finetune.Job) float64 {
	if job.LR != 0 {
		return job.LR
	}
	return finetune.DefaultLR(job.Adapter, job.FullFineTune)
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
