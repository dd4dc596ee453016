package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/atomicdir"
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

// outcome is one method's run.
type outcome struct {
	method
	res *finetune.Result
	// cpuPerStep is the mean CPU time of an optimiser step, 0 if unknown (see cpuMeter).
	cpuPerStep time.Duration
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
	outcomes, err := compare(ctx, setup, o, stderr)
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

// checkTargets builds each adapter method's model once, so that targets matching no module or an
// OFT block size that does not divide a layer fail now rather than after other methods trained.
func checkTargets(setup *finetune.Setup, o *options) error {
	for _, m := range o.methods {
		if m.adapter == nil {
			continue
		}
		_, err := bert.New(setup.Checkpoint, bert.Options{
			Adapter: m.adapter, Targets: o.targets, NumLabels: setup.NumLabels, Seed: o.seed,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", m.kind, err)
		}
	}
	return nil
}

// compare trains every method of o on setup with the same budget, logging progress to log.
func compare(ctx context.Context, setup *finetune.Setup, o *options, log io.Writer) ([]outcome, error) {
	var outcomes []outcome
	for i, m := range o.methods {
		fmt.Fprintf(log, "[%d/%d] %s %s, lr %g, %d steps\n", i+1, len(o.methods), displayName(m.kind), config(m), m.lr, o.steps)
		var losses []float64
		var cpu cpuMeter
		res, err := setup.Train(ctx, finetune.Job{
			Adapter: m.adapter, FullFineTune: m.full, Targets: o.targets,
			Steps: o.steps, BatchSize: o.batch, Workers: o.workers, EvalEvery: o.evalEvery,
			LR: m.lr, Seed: o.seed,
			OnStep: func(s train.StepInfo) {
				losses = append(losses, s.Loss)
				cpu.stepDone()
			},
			OnEval: func(e train.EvalInfo) {
				fmt.Fprintf(log, "  step %*d/%d  train loss %.4f  dev loss %.4f  dev acc %.4f\n",
					digits(o.steps), e.Step, o.steps, trailingMean(losses, lossWindow), e.Loss, e.Accuracy)
				cpu.restart()
			},
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.kind, err)
		}
		fmt.Fprintf(log, "  done in %v: %s per step (%s CPU), peak heap %s\n", res.TrainTime.Round(time.Millisecond),
			formatStepTime(res.StepTime), formatStepTime(cpu.perStep()), formatMiB(res.PeakHeapBytes))
		// The model is not needed any more: drop it so that the next method's peak heap does not
		// include it.
		res.Model = nil
		outcomes = append(outcomes, outcome{method: m, res: res, cpuPerStep: cpu.perStep()})
	}
	return outcomes, nil
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
