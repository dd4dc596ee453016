package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/spago-peft/spago-peft/peft"
)

// options is what the command line asks for.
type options struct {
	// model and data choose the base and the data set ("" for the offline defaults).
	model, data string
	// out is the directory that receives results.csv, results.json and curves.png.
	out string
	// methods are the methods to compare, in the order given.
	methods []method
	// targets are the adapted modules, shared by every adapter method.
	targets peft.Targets
	// The shared budget.
	steps, batch, maxLen, trainLimit, workers, evalEvery int
	seed                                                 uint64
}

// method is one column of the comparison: a kind and its configuration.
type method struct {
	// kind is one of finetune.Kinds.
	kind string
	// adapter and full are what finetune.Job takes (nil and false for the head alone).
	adapter peft.Config
	full    bool
	// lr is the peak learning rate.
	lr float64
}

// usage introduces the flags in --help.
const usage = `compare fine-tunes one base model with HRA, LoRA and OFT and with the two baselines (head
only, full fine-tuning) on the same data, seed, step budget and target modules, prints a Markdown
table and writes results.csv, results.json and curves.png to --out.

Without --model it uses an offline default BERT with RANDOM weights: fine to try the tool, useless
to judge the methods. For real numbers:

  go run ./examples/compare --model bert-base-uncased --data path/to/glue/SST-2 --steps 1000 --max-len 64

Flags:
`

// parseFlags reads the command line. Errors are one line, without the usage text; --help prints
// the usage to stderr and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	// The flag package prints the usage on every error; print it only for --help, so that an
	// error stays one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o := &options{}
	fs.StringVar(&o.model, "model", "", "base model: a local Hugging Face directory or a hub repository (default: the offline random base)")
	fs.StringVar(&o.data, "data", "", "GLUE-style directory with train.tsv and dev.tsv, or one TSV file to split (default: the embedded sample)")
	fs.StringVar(&o.out, "out", "compare-results", "directory for results.csv, results.json and curves.png")
	methods := fs.String("methods", strings.Join(finetune.Kinds, ","), "comma-separated methods to compare, from "+strings.Join(finetune.Kinds, ", "))
	targetList := fs.String("targets", "query,value", "comma-separated modules that get adapters (suffixes of PEFT module names)")
	fs.IntVar(&o.steps, "steps", 200, "optimiser steps per method")
	fs.IntVar(&o.batch, "batch", 32, "examples per step")
	fs.IntVar(&o.maxLen, "max-len", 128, "longest token sequence, [CLS] and [SEP] included")
	fs.Uint64Var(&o.seed, "seed", 42, "seed of the new weights, the example order and --train-limit's draw")
	fs.IntVar(&o.trainLimit, "train-limit", 0, "train on at most this many rows, drawn with --seed (0: all)")
	fs.IntVar(&o.workers, "workers", 0, "goroutines sharing each batch (0: one per CPU)")
	fs.IntVar(&o.evalEvery, "eval-every", 0, "evaluate on the dev set every this many steps (0: about 10 times per run)")

	hraR := fs.Int("hra-r", finetune.DefaultHRARank, "HRA: number of Householder reflections (even, for the identity init)")
	hraLambda := fs.Float64("hra-lambda", 1e-4, "HRA: weight λ of the orthogonality regulariser, as in the HRA paper (0: none, as PEFT)")
	hraGS := fs.Bool("hra-gs", false, "HRA: orthonormalise the reflections by Gram–Schmidt (the paper's λ = ∞; random init)")
	loraR := fs.Int("lora-r", finetune.DefaultLoRARank, "LoRA: rank")
	loraAlpha := fs.Float64("lora-alpha", 0, "LoRA: scale numerator α (0: 2·r, 16 with the default rank)")
	oftBlock := fs.Int("oft-block", finetune.DefaultOFTBlockSize, "OFT: block size (must divide the hidden size)")

	lr := fs.Float64("lr", 0, "peak learning rate of every method; the --lr-<method> flags override it (0: per-method defaults)")
	lrs := map[string]*float64{}
	for _, kind := range finetune.Kinds {
		def, err := defaultLR(kind)
		if err != nil {
			return nil, err
		}
		lrs[kind] = fs.Float64("lr-"+kind, def, "peak learning rate of "+kind)
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			fmt.Fprint(stderr, exitStatuses)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkSetFlags(fs, *targetList); err != nil {
		return nil, err
	}

	switch {
	case o.steps < 1:
		return nil, fmt.Errorf("--steps %d: want at least 1", o.steps)
	case o.batch < 1:
		return nil, fmt.Errorf("--batch %d: want at least 1", o.batch)
	case o.maxLen < 2:
		return nil, fmt.Errorf("--max-len %d: want at least 2 ([CLS] and [SEP])", o.maxLen)
	case o.trainLimit < 0:
		return nil, fmt.Errorf("--train-limit %d: want 0 (all) or more", o.trainLimit)
	case o.workers < 0:
		return nil, fmt.Errorf("--workers %d: want 0 (one per CPU) or more", o.workers)
	case o.evalEvery < 0:
		return nil, fmt.Errorf("--eval-every %d: want 0 (automatic) or more", o.evalEvery)
	case o.out == "":
		return nil, fmt.Errorf("--out is empty: name a directory for the results")
	case *hraGS && set["hra-lambda"]:
		return nil, fmt.Errorf("--hra-lambda has no effect with --hra-gs, whose reflections are orthogonal by construction")
	case set["lr"] && !(*lr > 0):
		return nil, fmt.Errorf("--lr %v: want a positive number", *lr)
	}
	if o.evalEvery == 0 {
		o.evalEvery = max(1, o.steps/10)
	}
	o.targets = finetune.ParseTargets(*targetList)

	var kinds []string
	for _, name := range strings.Split(*methods, ",") {
		kind, err := finetune.ParseKind(name)
		if err != nil {
			return nil, fmt.Errorf("--methods: %w", err)
		}
		if !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	for _, kind := range kinds {
		m := finetune.Method{Kind: kind}
		switch kind {
		case finetune.KindHRA:
			m.R, m.GS = *hraR, *hraGS
			if !m.GS {
				m.Lambda = *hraLambda
			}
		case finetune.KindLoRA:
			m.R, m.Alpha = *loraR, *loraAlpha
		case finetune.KindOFT:
			m.BlockSize = *oftBlock
		}
		adapter, full, err := m.Adapter()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		rate := *lrs[kind]
		if set["lr"] && !set["lr-"+kind] {
			rate = *lr
		}
		if !(rate > 0) {
			return nil, fmt.Errorf("--lr-%s %v: want a positive number", kind, rate)
		}
		o.methods = append(o.methods, method{kind: kind, adapter: adapter, full: full, lr: rate})
	}
	return o, nil
}

// defaultLR is finetune's default learning rate for kind with its default configuration.
func defaultLR(kind string) (float64, error) {
	adapter, full, err := finetune.Method{Kind: kind}.Adapter()
	if err != nil {
		return 0, err
	}
	return finetune.DefaultLR(adapter, full), nil
}
