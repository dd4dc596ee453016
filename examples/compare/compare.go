package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/atomicdir"
	"github.com/spago-peft/spago-peft/peft"
)

// Files written to --out.
const (
	csvFile  = "results.csv"
	jsonFile = "results.json"
	plotFile = "curves.png"
)

// lossWindow is the number of steps over which the training loss is averaged, in the plot as
// in finetune.Result.FinalTrainLoss: a single batch's loss is too noisy to compare.
const lossWindow = 10

// outcome is one method's result: its runs at the chosen learning rate, and the sweep.
type outcome struct {
	method
	// runs are the runs at lr, one per seed; the first one's curves are plotted.
	runs []trial
	// sweep holds every learning rate tried, with its runs' accuracies (one entry without a
	// sweep).
	sweep []sweepPoint
}

// trial is one training run of a method.
type trial struct {
	seed uint64
	res  *finetune.Result
	// test is the accuracy on --test's file (zero Metrics without one).
	test train.Metrics
	// cpuPerStep is the mean CPU time of an optimiser step, 0 if unknown (see cpuMeter).
	cpuPerStep time.Duration
	// peakRSS is the process's resident-set high-water mark during the run, 0 if unknown.
	peakRSS uint64
}

// compareAndReport loads the base and data once, trains every method on them, prints the table
// to stdout and writes the files to o.out.
func compareAndReport(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	setup, err := finetune.Prepare(ctx, finetune.Job{
		Model: o.model, Data: o.data, TrainLimit: o.trainLimit, MaxLen: o.maxLen, Seed: o.seed,
		OnLoad: func(msg string) { fmt.Fprintln(stderr, msg) },
	})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return inputError{err}
	}
	if err := checkTargets(setup, o); err != nil {
		return inputError{err}
	}
	var testSet []train.Example
	if o.test != "" {
		rows, err := dataset.ReadTSV(o.test)
		if err != nil {
			return inputError{fmt.Errorf("--test: %w", err)}
		}
		if n := dataset.NumLabels(rows); n > setup.NumLabels {
			return inputError{fmt.Errorf("--test %s: %w: labels up to %d but the model has %d", o.test, dataset.ErrLabelRange, n-1, setup.NumLabels)}
		}
		testSet = finetune.Encode(setup.Tokenizer, rows, setup.MaxLen)
		fmt.Fprintf(stderr, "test: %d rows from %s\n", len(testSet), o.test)
	}
	if o.epochs > 0 {
		o.steps = o.epochs * stepsPerEpoch(len(setup.TrainSet), o.batch)
		if o.evalEvery == 0 {
			o.evalEvery = max(1, o.steps/10)
		}
	}
	var trace, masks io.Writer
	for _, out := range []struct {
		flag, path string
		w          *io.Writer
	}{{"--trace", o.trace, &trace}, {"--masks", o.masks, &masks}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return inputError{fmt.Errorf("%s: %w", out.flag, err)}
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		*out.w = bw
	}
	outcomes, err := compare(ctx, setup, testSet, o, stderr, trace, masks)
	if err != nil {
		return err
	}
	rep := newReport(o, setup, outcomes)
	if err := writeMarkdown(stdout, rep); err != nil {
		return err
	}
	err = atomicdir.Write(o.out, []atomicdir.File{
		{Name: csvFile, Write: rep.writeCSV},
		{Name: jsonFile, Write: rep.writeJSON},
		{Name: plotFile, Write: rep.writePlot},
	})
	if err != nil {
		return fmt.Errorf("writing the results to %s: %w", o.out, err)
	}
	fmt.Fprintf(stderr, "wrote %s, %s and %s to %s\n", csvFile, jsonFile, plotFile, o.out)
	return nil
}

// stepsPerEpoch is the number of batches of size batch that cover n examples.
func stepsPerEpoch(n, batch int) int { return (n + batch - 1) / batch }

// checkTargets builds each adapter method's model once, so that targets matching no module or an
// OFT block size that does not divide a layer fail now rather than after other methods trained.
// With --save-adapter-init it saves each one's adapters, drawn with the first seed as its first
// run draws them, in PEFT's format.
func checkTargets(setup *finetune.Setup, o *options) error {
	for _, m := range o.methods {
		if m.adapter == nil {
			continue
		}
		model, err := bert.New(setup.Checkpoint, bert.Options{
			Adapter: m.adapter, Targets: o.targets, NumLabels: setup.NumLabels, Seed: o.seed,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", m.kind, err)
		}
		if o.adapterInit != "" {
			if err := model.SaveAdapter(filepath.Join(o.adapterInit, m.kind), peft.Meta{}); err != nil {
				return fmt.Errorf("--save-adapter-init: %s: %w", m.kind, err)
			}
		}
	}
	return nil
}

// compare trains every method of o on setup with the same budget, at each learning rate of the
// sweep and with each seed, logging progress to log and, if trace is not nil, every step of each
// method's first run to trace and its dropout masks to masks.
func compare(ctx context.Context, setup *finetune.Setup, testSet []train.Example, o *options, log, trace, masks io.Writer) ([]outcome, error) {
	factors := o.lrFactors
	if len(factors) == 0 {
		factors = []float64{1}
	}
	var outcomes []outcome
	for i, m := range o.methods {
		oc := outcome{method: m}
		best := -1.0
		for _, f := range factors {
			// Rounded to 6 significant digits, so that 3 × 1e-4 is reported as 3e-4.
			lr, _ := strconv.ParseFloat(strconv.FormatFloat(m.lr*f, 'g', 6, 64), 64)
			var runs []trial
			for s := range o.seeds {
				seed := o.seed + uint64(s)
				fmt.Fprintf(log, "[%d/%d] %s %s, lr %g, seed %d, %d steps\n", i+1, len(o.methods), displayName(m.kind), config(m), lr, seed, o.steps)
				var tr, mw io.Writer
				if s == 0 && f == factors[0] {
					tr, mw = trace, masks
				}
				r, err := trainOnce(ctx, setup, testSet, o, m, lr, seed, log, tr, mw)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", m.kind, err)
				}
				runs = append(runs, r)
			}
			p := sweepPoint{LR: lr}
			for _, r := range runs {
				p.DevAccuracies = append(p.DevAccuracies, r.res.Dev.Accuracy)
			}
			p.DevMean, p.DevStd = meanStd(p.DevAccuracies)
			oc.sweep = append(oc.sweep, p)
			if p.DevMean > best {
				best, oc.runs, oc.lr = p.DevMean, runs, lr
			}
		}
		outcomes = append(outcomes, oc)
	}
	return outcomes, nil
}

// trainOnce trains method m with learning rate lr and seed on setup and evaluates it on the
// dev set and testSet, writing its steps to trace and its dropout masks to masks if they are not
// nil.
func trainOnce(ctx context.Context, setup *finetune.Setup, testSet []train.Example, o *options, m method, lr float64, seed uint64, log, trace, masks io.Writer) (trial, error) {
	var losses []float64
	var cpu cpuMeter
	clip, warmup := o.clip, o.warmup
	if clip == 0 {
		clip = -1 // finetune's and train's "none"
	}
	if warmup == 0 {
		warmup = -1
	}
	tracer := newStepTracer(trace, m.kind, seed, len(setup.TrainSet), o.batch)
	mw := &maskWriter{w: masks, method: m.kind, seed: seed, hidden: o.dropout, attnDrp: o.attnDropout}
	if masks != nil {
		bert.DropoutSiteHook = mw.site
		defer func() { bert.DropoutSiteHook = nil }()
	}
	resetPeakRSS()
	res, err := setup.Train(ctx, finetune.Job{
		Adapter: m.adapter, FullFineTune: m.full, Targets: o.targets,
		Steps: o.steps, BatchSize: o.batch, Workers: o.workers, EvalEvery: o.evalEvery,
		LR: lr, Seed: seed, Dropout: o.dropout, AttentionDropout: o.attnDropout,
		MaxGradNorm: clip, WeightDecay: o.weightDecay, WarmupRatio: warmup,
		OnStep: func(s train.StepInfo) {
			losses = append(losses, s.Loss)
			cpu.stepDone()
			tracer.step(s)
		},
		OnEval: func(e train.EvalInfo) {
			fmt.Fprintf(log, "  step %*d/%d  train loss %.4f  dev loss %.4f  dev acc %.4f\n",
				digits(o.steps), e.Step, o.steps, trailingMean(losses, lossWindow), e.Loss, e.Accuracy)
			cpu.restart()
		},
	})
	if err != nil {
		return trial{}, err
	}
	if err := tracer.err; err != nil {
		return trial{}, fmt.Errorf("--trace: %w", err)
	}
	if err := mw.err; err != nil {
		return trial{}, fmt.Errorf("--masks: %w", err)
	}
	r := trial{seed: seed, res: res, cpuPerStep: cpu.perStep(), peakRSS: peakRSS()}
	if len(testSet) > 0 {
		if r.test, err = train.Evaluate(res.Model, testSet, o.batch); err != nil {
			return trial{}, fmt.Errorf("evaluating --test: %w", err)
		}
	}
	fmt.Fprintf(log, "  done in %v: %s per step (%s CPU), peak heap %s, dev acc %.4f", res.TrainTime.Round(time.Millisecond),
		formatStepTime(res.StepTime), formatStepTime(r.cpuPerStep), formatMiB(res.PeakHeapBytes), res.Dev.Accuracy)
	if len(testSet) > 0 {
		fmt.Fprintf(log, ", test acc %.4f", r.test.Accuracy)
	}
	fmt.Fprintln(log)
	// The model is not needed any more: drop it so that the next run's peak heap does not
	// include it.
	res.Model = nil
	return r, nil
}

// meanStd returns the mean and the sample standard deviation (n − 1; 0 for one value) of xs.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) == 1 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// trailingMean is the mean of the last n values of xs (all of them if fewer), NaN for none.
func trailingMean(xs []float64, n int) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = xs[max(0, len(xs)-n):]
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// digits is the number of decimal digits of n ≥ 0.
func digits(n int) int {
	return len(fmt.Sprint(n))
}
