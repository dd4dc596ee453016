// Command custom-model fine-tunes a spago model of your own with HRA, LoRA or OFT: a two-layer
// MLP whose linear layers sit in fields of type nn.StandardModel is pre-trained on one regression
// task, wrapped with adapters by peft.Wrap, fine-tuned on a changed task with the base frozen,
// merged, and saved and reloaded both with spago's gob (nn.DumpToFile) and in PEFT's format
// (peft.Save, peft.Load onto a fresh copy of the pre-trained model). It runs in about a second:
//
//	go run ./examples/custom-model                 # HRA
//	go run ./examples/custom-model --method lora   # or oft: the one value that changes
//	go run ./examples/custom-model --out my-run    # keep the saved files
//
// Exit status: 0 on success, 2 for bad flags, 1 when a step fails.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// configs are the adapters the example compares; each fits both layers (8 and 32 inputs).
var configs = map[string]peft.Config{
	"hra":  hra.Config{R: 4},
	"lora": lora.Config{R: 4, Alpha: 8},
	"oft":  oft.Config{BlockSize: 4},
}

// options are the command's flags.
type options struct {
	method string
	out    string
	steps  int
	seed   uint64
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custom-model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.method, "method", "hra", "adapter: hra, lora or oft")
	fs.StringVar(&o.out, "out", "", "directory to keep the saved model and adapter in (default: a temporary one, removed)")
	fs.IntVar(&o.steps, "steps", 200, "training steps of pre-training and of fine-tuning")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the data and the initial weights")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, ok := configs[o.method]; !ok || o.steps <= 0 || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "custom-model: --method must be hra, lora or oft and --steps positive, with no arguments (got --method %q --steps %d %v)\n", o.method, o.steps, fs.Args())
		return 2
	}
	if _, err := experiment(o, stdout); err != nil {
		fmt.Fprintln(stderr, "custom-model:", err)
		return 1
	}
	return 0
}

// result is what the test checks of a run.
type result struct {
	preFirst, preLast   float64 // pre-training loss before and after
	fineFirst, fineLast float64 // fine-tuning loss before and after
	trainable, total    int
	baseUnchanged       bool
	mergedDiff          float64 // largest |merged − adapter| output difference
	gobSame, peftSame   bool    // reloaded outputs bit-identical
}

// experiment runs the whole workflow, printing what it does to w.
func experiment(o options, w io.Writer) (result, error) {
	var r result
	dir := o.out
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return r, err
		}
	} else {
		tmp, err := os.MkdirTemp("", "custom-model")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	rng := rand.New(rand.NewPCG(o.seed, 2))
	pre, fine := makeTasks(rng)
	model := newMLP(rng)
	var all []*nn.Param
	nn.ForEachParam(model, func(p *nn.Param) { all = append(all, p) })
	r.total = peft.CountParams(all)
	fmt.Fprintf(w, "model:      MLP %d → %d → %d (tanh), %d parameters, layers in nn.StandardModel fields\n", nIn, nHidden, nOut, r.total)

	var err error
	if r.preFirst, r.preLast, err = fit(model, pre, nil, all, 1e-2, o.steps); err != nil {
		return r, fmt.Errorf("pre-training: %w", err)
	}
	fmt.Fprintf(w, "pre-train:  loss %.4f → %.4f (%d steps of AdamW on every parameter)\n", r.preFirst, r.preLast, o.steps)
	basePath := filepath.Join(dir, "base.gob")
	if err := nn.DumpToFile(model, basePath); err != nil {
		return r, err
	}
	base := snapshot(all)

	cfg := configs[o.method]
	adapters, err := peft.Wrap(model, cfg, peft.Targets{Modules: []string{"hidden", "output"}}, rng)
	if err != nil {
		return r, err
	}
	params := peft.TrainableParams(adapters)
	r.trainable = peft.CountParams(params)
	fmt.Fprintf(w, "wrap:       %s %+v on %v\n", o.method, cfg, slices.Sorted(maps.Keys(adapters)))
	fmt.Fprintf(w, "trainable:  %d of %d parameters (%.1f%%)\n", r.trainable, r.total, 100*float64(r.trainable)/float64(r.total))

	if r.fineFirst, r.fineLast, err = fit(model, fine, adapters, params, 1e-2, o.steps); err != nil {
		return r, fmt.Errorf("fine-tuning: %w", err)
	}
	fmt.Fprintf(w, "fine-tune:  loss on the changed task %.4f → %.4f (%d steps, adapters only)\n", r.fineFirst, r.fineLast, o.steps)
	r.baseUnchanged = slices.EqualFunc(base, snapshot(all), slices.Equal)
	fmt.Fprintf(w, "frozen:     base weights unchanged bit for bit: %v\n", r.baseUnchanged)
	tuned := outputs(model, fine.xs)

	// PEFT's format first, from the unmerged adapters; then merge and save the whole model.
	adapterDir := filepath.Join(dir, "adapter")
	if err := peft.Save(adapterDir, model); err != nil {
		return r, err
	}
	for _, a := range adapters {
		if err := a.Merge(); err != nil {
			return r, err
		}
	}
	merged := outputs(model, fine.xs)
	r.mergedDiff = maxDiff(tuned, merged)
	fmt.Fprintf(w, "merge:      merged outputs within %.1e of the adapters'\n", r.mergedDiff)

	modelPath := filepath.Join(dir, "model.gob")
	if err := nn.DumpToFile(model, modelPath); err != nil {
		return r, err
	}
	reloaded, err := nn.LoadFromFile[*MLP](modelPath)
	if err != nil {
		return r, err
	}
	r.gobSame = slices.Equal(outputs(reloaded, fine.xs), merged)
	fmt.Fprintf(w, "gob:        %s reloaded with nn.LoadFromFile: outputs identical: %v\n", modelPath, r.gobSame)

	fresh, err := nn.LoadFromFile[*MLP](basePath)
	if err != nil {
		return r, err
	}
	if _, err := peft.Load(adapterDir, fresh); err != nil {
		return r, err
	}
	r.peftSame = slices.Equal(outputs(fresh, fine.xs), tuned)
	fmt.Fprintf(w, "peft:       %s loaded onto the pre-trained model (%s): outputs identical: %v\n", adapterDir, filepath.Base(basePath), r.peftSame)
	if !r.baseUnchanged || !r.gobSame || !r.peftSame {
		return r, errors.New("a check failed")
	}
	return r, nil
}

// snapshot copies the values of params.
func snapshot(params []*nn.Param) [][]float32 {
	var s [][]float32
	for _, p := range params {
		s = append(s, slices.Clone(p.Value().Data().F32()))
	}
	return s
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}
