package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/finetune"
)

// zeroIsDefault lists the flags whose zero value stands for "not set, use the default": set
// explicitly to 0 they would be silently ignored, so they are refused instead.
var zeroIsDefault = map[string]string{
	"r":          "at least 1",
	"epochs":     "at least 1",
	"steps":      "at least 1 (leave it out to train --epochs passes)",
	"batch":      "at least 1",
	"workers":    "at least 1",
	"max-len":    "at least 2 ([CLS] and [SEP])",
	"eval-every": "at least 1",
	"lr":         "a positive learning rate",
	"num-labels": fmt.Sprintf("2 to %d", dataset.MaxLabels),
}

// checkSetFlags refuses flags the user set to a value that would be ignored or is out of range:
// a zero that means "default", a --targets that names no module, an odd --r for HRA without
// --gs, a --num-labels beyond the cap. Values out of range for other reasons are checked by
// trainFlags.job.
func checkSetFlags(fs *flag.FlagSet, f trainFlags) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		if want, ok := zeroIsDefault[fl.Name]; ok && fl.Value.String() == "0" {
			err = fmt.Errorf("--%s 0: want %s; leave the flag out for the default", fl.Name, want)
		}
		if fl.Name == "targets" && strings.Trim(f.targets, ", \t") == "" {
			err = fmt.Errorf("--targets %q names no module: give comma-separated module names, such as query,value", f.targets)
		}
	})
	switch {
	case err != nil:
		return err
	case f.numLabels == 1:
		return fmt.Errorf("--num-labels 1: want 2 to %d (one output is --task regress)", dataset.MaxLabels)
	case f.numLabels > dataset.MaxLabels:
		return fmt.Errorf("--num-labels %d: want 2 to %d", f.numLabels, dataset.MaxLabels)
	case strings.EqualFold(strings.TrimSpace(f.adapter), finetune.KindHRA) && f.r%2 == 1 && !f.gs:
		return fmt.Errorf("--r %d: HRA's identity init pairs its reflections, so r must be even; use an even --r, or --gs (Gram–Schmidt, random init)", f.r)
	}
	return nil
}
