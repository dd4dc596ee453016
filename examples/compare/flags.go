package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
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
	// The shared budget: steps, or with epochs > 0 whole passes over the training set (steps is
	// then set once the data is loaded).
	steps, epochs, batch, maxLen, trainLimit, workers, evalEvery int
	seed                                                         uint64
	// The training settings that change results, shared by every method: hidden and
	// attention-probability dropout, the gradient norm cap (0: none), AdamW's weight decay, the
	// warm-up ratio.
	dropout, attnDropout, clip, weightDecay, warmup float64
	// seeds is the number of runs per method, with seeds seed, seed+1, …
	seeds int
	// lrFactors, if set, sweeps each method's learning rate times each factor and reports the
	// method at its best mean dev accuracy.
	lrFactors []float64
	// test, if set, is a labelled TSV file evaluated after training; trace, if set, receives one
	// JSON line per optimiser step of each method's first run, and masks its dropout masks;
	// adapterInit, if set, receives each adapter method's initial adapters in a subdirectory.
	test, trace, masks, adapterInit string
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

  go run ./examples/compare --model sentence-transformers/all-MiniLM-L6-v2 --data path/to/glue/SST-2 \
      --train-limit 1000 --epochs 1 --batch 16 --max-len 64 --dropout 0.1 --seeds 3

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
	fs.IntVar(&o.steps, "steps", 200, "optimiser steps per method (see --epochs)")
	fs.IntVar(&o.epochs, "epochs", 0, "passes over the training set per method, instead of --steps")
	fs.Float64Var(&o.dropout, "dropout", 0, "dropout probability of the hidden states and of the attention probabilities in training (BERT's configs: 0.1)")
	attnDropout := fs.Float64("attention-dropout", 0, "dropout probability of the attention probabilities alone (default: --dropout's)")
	fs.Float64Var(&o.clip, "clip", 1, "largest global gradient norm per step; larger gradients are scaled down (0: no clipping)")
	fs.Float64Var(&o.weightDecay, "weight-decay", 0, "AdamW's decoupled weight decay, on every trainable parameter")
	fs.Float64Var(&o.warmup, "warmup", 0.06, "fraction of the steps over which the learning rate rises linearly from 0, before it falls linearly to 0")
	fs.StringVar(&o.test, "test", "", "labelled TSV file (sentence<TAB>label) whose accuracy is reported too, such as a held-out slice of the training file")
	fs.IntVar(&o.seeds, "seeds", 1, "runs per method, with seeds --seed, --seed+1, …; accuracies are reported as mean ± std")
	lrSweep := fs.String("lr-sweep", "", "comma-separated factors of each method's learning rate to try, such as 0.3,1,3; each method is reported at its best mean dev accuracy")
	fs.StringVar(&o.trace, "trace", "", "file to receive one JSON line per step of each method's first run: loss, gradient norm, learning rate and the batch's example indices")
	fs.StringVar(&o.masks, "masks", "", "file to receive the dropout masks of every training step of each method's first run, for peft_compare.py --replay --masks")
	fs.StringVar(&o.adapterInit, "save-adapter-init", "", "directory to receive each adapter method's initial adapters (those of --seed) in PEFT's format, one subdirectory per method, for peft_compare.py --replay --init-adapter")
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
	case o.epochs < 0:
		return nil, fmt.Errorf("--epochs %d: want 1 or more", o.epochs)
	case o.epochs > 0 && set["steps"]:
		return nil, fmt.Errorf("--epochs and --steps both set: give one budget")
	case !(o.dropout >= 0 && o.dropout < 1):
		return nil, fmt.Errorf("--dropout %v: want a probability in [0, 1)", o.dropout)
	case !(*attnDropout >= 0 && *attnDropout < 1):
		return nil, fmt.Errorf("--attention-dropout %v: want a probability in [0, 1)", *attnDropout)
	case !(o.clip >= 0):
		return nil, fmt.Errorf("--clip %v: want 0 (none) or a positive norm", o.clip)
	case !(o.weightDecay >= 0):
		return nil, fmt.Errorf("--weight-decay %v: want 0 or more", o.weightDecay)
	case !(o.warmup >= 0 && o.warmup <= 1):
		return nil, fmt.Errorf("--warmup %v: want a fraction in [0, 1]", o.warmup)
	case o.seeds < 1:
		return nil, fmt.Errorf("--seeds %d: want at least 1", o.seeds)
	}
	o.attnDropout = o.dropout
	if set["attention-dropout"] {
		o.attnDropout = *attnDropout
	}
	if o.masks != "" && o.dropout == 0 && o.attnDropout == 0 {
		return nil, fmt.Errorf("--masks without dropout would record nothing: set --dropout or --attention-dropout")
	}
	if *lrSweep != "" {
		for _, f := range strings.Split(*lrSweep, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(v > 0) {
				return nil, fmt.Errorf("--lr-sweep: factor %q is not a positive number", f)
			}
			o.lrFactors = append(o.lrFactors, v)
		}
	}
	if o.epochs > 0 {
		o.steps = 0
	}
	if o.evalEvery == 0 && o.steps > 0 {
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
