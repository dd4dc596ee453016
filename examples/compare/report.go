package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spago-peft/spago-peft/integration/finetune"
)

// heapMeasure says how peak memory is measured, in the table's notes and in the JSON.
const heapMeasure = "largest Go heap (runtime/metrics /memory/classes/heap/objects:bytes, sampled every 2 ms by finetune) " +
	"while the method trained; it includes the base weights and the tokenised data, which every method holds alike"

// report is the whole comparison, as written to results.json.
type report struct {
	Base          string  `json:"base"`
	RandomBase    bool    `json:"random_base"`
	TrainData     string  `json:"train_data"`
	DevData       string  `json:"dev_data"`
	TrainExamples int     `json:"train_examples"`
	DevExamples   int     `json:"dev_examples"`
	Budget        budget  `json:"budget"`
	Machine       machine `json:"machine"`
	PeakHeap      string  `json:"peak_heap_measure"`
	Methods       []row   `json:"methods"`
}

// budget is what every method shares.
type budget struct {
	Steps      int      `json:"steps"`
	BatchSize  int      `json:"batch_size"`
	MaxLen     int      `json:"max_len"`
	Seed       uint64   `json:"seed"`
	Targets    []string `json:"target_modules"`
	TrainLimit int      `json:"train_limit"`
	Workers    int      `json:"workers"`
	EvalEvery  int      `json:"eval_every"`
}

// machine describes where the comparison ran.
type machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
}

// row is one method's results: a row of the table and of results.csv, and its curves.
type row struct {
	Method         string  `json:"method"`
	Config         string  `json:"config"`
	LR             float64 `json:"lr"`
	Trainable      int     `json:"trainable_params"`
	BaseParams     int     `json:"base_params"`
	PercentOfBase  float64 `json:"percent_of_base"`
	DevAccuracy    float64 `json:"dev_accuracy"`
	DevLoss        float64 `json:"dev_loss"`
	FinalTrainLoss float64 `json:"final_train_loss"`
	Steps          int     `json:"steps"`
	StepMillis     float64 `json:"step_ms"`
	CPUStepMillis  float64 `json:"cpu_step_ms"`
	TrainSeconds   float64 `json:"train_seconds"`
	PeakHeapBytes  uint64  `json:"peak_heap_bytes"`
	// TrainLoss is the loss of every step, step i+1 at index i.
	TrainLoss []float64 `json:"train_loss"`
	// Evals are the dev-set evaluations during training, the last one after the last step.
	Evals []evalPoint `json:"evals"`
}

// evalPoint is one dev-set evaluation.
type evalPoint struct {
	Step     int     `json:"step"`
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
}

func newReport(o *options, setup *finetune.Setup, outcomes []outcome) *report {
	workers := o.workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	rep := &report{
		Base: setup.BaseDescription, RandomBase: setup.RandomBase,
		TrainData: setup.TrainSource, DevData: setup.DevSource,
		TrainExamples: len(setup.TrainSet), DevExamples: len(setup.DevSet),
		Budget: budget{
			Steps: o.steps, BatchSize: o.batch, MaxLen: setup.MaxLen, Seed: o.seed, Targets: o.targets.Modules,
			TrainLimit: o.trainLimit, Workers: workers, EvalEvery: o.evalEvery,
		},
		Machine: machine{
			GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
			GoVersion: runtime.Version(),
		},
		PeakHeap: heapMeasure,
	}
	for _, oc := range outcomes {
		r := oc.res
		w := row{
			Method: oc.kind, Config: config(oc.method), LR: oc.lr,
			Trainable: r.Trainable, BaseParams: r.Base, PercentOfBase: r.PercentOfBase(),
			DevAccuracy: r.Dev.Accuracy, DevLoss: r.Dev.Loss, FinalTrainLoss: r.FinalTrainLoss, Steps: r.Steps,
			StepMillis:    float64(r.StepTime) / float64(time.Millisecond),
			CPUStepMillis: float64(oc.cpuPerStep) / float64(time.Millisecond),
			TrainSeconds:  r.TrainTime.Seconds(), PeakHeapBytes: r.PeakHeapBytes,
		}
		for _, s := range r.History.Steps {
			w.TrainLoss = append(w.TrainLoss, s.Loss)
		}
		for _, e := range r.History.Evals {
			w.Evals = append(w.Evals, evalPoint{Step: e.Step, Accuracy: e.Accuracy, Loss: e.Loss})
		}
		rep.Methods = append(rep.Methods, w)
	}
	return rep
}

// writeMarkdown prints the comparison as a Markdown table with a few lines of context.
func writeMarkdown(w io.Writer, rep *report) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "Base: %s\n\n", rep.Base)
	if rep.RandomBase {
		fmt.Fprint(b, "**The base is randomly initialised, not pretrained: these numbers show that the tool runs, not how the methods compare. Use --model with a pretrained checkpoint.**\n\n")
	}
	fmt.Fprintf(b, "Data: %d training examples from %s; %d dev examples from %s\n\n", rep.TrainExamples, rep.TrainData, rep.DevExamples, rep.DevData)
	bu := rep.Budget
	fmt.Fprintf(b, "Budget per method: %d steps × batch %d, max length %d, seed %d, adapters on %s, %d workers; %s %s/%s, %d CPUs%s\n\n",
		bu.Steps, bu.BatchSize, bu.MaxLen, bu.Seed, strings.Join(bu.Targets, ", "), bu.Workers,
		rep.Machine.GoVersion, rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.CPUs, parenthesised(rep.Machine.CPUModel))
	fmt.Fprintln(b, "| Method | Config | LR | Trainable params | % of base | Dev acc | Final train loss | Time/step | CPU/step | Peak heap |")
	fmt.Fprintln(b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	ms := func(v float64) string { return formatStepTime(time.Duration(v * float64(time.Millisecond))) }
	for _, r := range rep.Methods {
		fmt.Fprintf(b, "| %s | %s | %g | %s | %.3f%% | %.2f%% | %.4f | %s | %s | %s |\n",
			displayName(r.Method), r.Config, r.LR, groupDigits(r.Trainable), r.PercentOfBase, 100*r.DevAccuracy,
			r.FinalTrainLoss, ms(r.StepMillis), ms(r.CPUStepMillis), formatMiB(r.PeakHeapBytes))
	}
	base := 0
	if len(rep.Methods) > 0 {
		base = rep.Methods[0].BaseParams
	}
	fmt.Fprintf(b, "\nTrainable params include the classification head (pooler and classifier), which every method trains; "+
		"%% of base is of the base model's %s parameters. Dev acc is after the last step; final train loss is the mean of the "+
		"last %d steps. Time/step is wall time and excludes evaluations; CPU/step is the process's CPU time (user + system, "+
		"all threads) per step, which depends less on other load. Peak heap: %s.\n", groupDigits(base), lossWindow, heapMeasure)
	return b.Flush()
}

// csvHeader names the columns of results.csv; writeCSV fills them in this order.
var csvHeader = []string{"method", "config", "lr", "trainable_params", "base_params", "percent_of_base",
	"dev_accuracy", "dev_loss", "final_train_loss", "steps", "step_ms", "cpu_step_ms", "train_seconds", "peak_heap_bytes"}

// writeCSV writes the table, one row per method, with full-precision numbers.
func (rep *report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	records := [][]string{csvHeader}
	for _, r := range rep.Methods {
		records = append(records, []string{
			r.Method, r.Config, g(r.LR), strconv.Itoa(r.Trainable), strconv.Itoa(r.BaseParams), g(r.PercentOfBase),
			g(r.DevAccuracy), g(r.DevLoss), g(r.FinalTrainLoss), strconv.Itoa(r.Steps), g(r.StepMillis), g(r.CPUStepMillis),
			g(r.TrainSeconds), strconv.FormatUint(r.PeakHeapBytes, 10),
		})
	}
	return cw.WriteAll(records)
}

// writeJSON writes the whole report, curves included.
func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// displayName is how tables and plots name a method kind.
func displayName(kind string) string {
	switch kind {
	case finetune.KindHRA:
		return "HRA"
	case finetune.KindLoRA:
		return "LoRA"
	case finetune.KindOFT:
		return "OFT"
	case finetune.KindHead:
		return "head only"
	case finetune.KindFull:
		return "full fine-tuning"
	}
	return kind
}

// config describes what a method trains and with which hyper-parameters.
func config(m method) string {
	switch {
	case m.full:
		return "every weight"
	case m.adapter == nil:
		return "pooler + classifier"
	}
	return strings.TrimPrefix(finetune.Describe(m.adapter), m.kind+" ")
}

// formatStepTime shows a step time in milliseconds with about three significant digits, or "n/a"
// for 0 (not measured).
func formatStepTime(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	ms := float64(d) / float64(time.Millisecond)
	decimals := 2
	switch {
	case ms >= 100:
		decimals = 0
	case ms >= 10:
		decimals = 1
	}
	return strconv.FormatFloat(ms, 'f', decimals, 64) + " ms"
}

// formatMiB shows a byte count in mebibytes.
func formatMiB(bytes uint64) string {
	return fmt.Sprintf("%.0f MiB", float64(bytes)/(1<<20))
}

// groupDigits writes n with thousands separated by commas.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// parenthesised is " (s)", or "" for an empty s.
func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// cpuModel is the processor's model name from /proc/cpuinfo, or "" where there is none.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
