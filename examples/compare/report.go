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
	// Test names --test's file and TestExamples counts its rows ("" and 0 without one).
	Test         string `json:"test_data,omitempty"`
	TestExamples int    `json:"test_examples,omitempty"`
	Methods      []row  `json:"methods"`
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
	// Epochs is --epochs (0 when the budget is in steps); StepsPerEpoch covers the training set.
	Epochs        int `json:"epochs"`
	StepsPerEpoch int `json:"steps_per_epoch"`
	// The training settings: dropout of the hidden states and of the attention probabilities,
	// the gradient norm cap (0: none), AdamW's weight decay, the warm-up ratio.
	Dropout          float64 `json:"dropout"`
	AttentionDropout float64 `json:"attention_dropout"`
	Clip             float64 `json:"clip"`
	WeightDecay      float64 `json:"weight_decay"`
	Warmup           float64 `json:"warmup"`
	// Seeds is the number of runs per method and learning rate; LRFactors the sweep's factors.
	Seeds     int       `json:"seeds"`
	LRFactors []float64 `json:"lr_factors,omitempty"`
}

// machine describes where the comparison ran.
type machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
}

// row is one method's results at its learning rate: a row of the table and of results.csv, and
// the curves of its first run. Accuracies are means over the runs (one per seed), and the
// per-run measures (loss, times, memory) those of the first run, except PeakRSSBytes, the largest.
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
	// DevStd is the sample standard deviation of DevAccuracies, the dev accuracy of each run.
	DevStd        float64   `json:"dev_accuracy_std"`
	DevAccuracies []float64 `json:"dev_accuracies"`
	// Test* are the same for --test's file (empty without one).
	TestAccuracy   float64   `json:"test_accuracy,omitempty"`
	TestStd        float64   `json:"test_accuracy_std,omitempty"`
	TestAccuracies []float64 `json:"test_accuracies,omitempty"`
	// Seeds are the runs' seeds.
	Seeds []uint64 `json:"seeds"`
	// EpochSeconds is the mean over runs of the wall time of the steps of one epoch (evaluations
	// excluded): the step time times the steps per epoch.
	EpochSeconds float64 `json:"epoch_seconds"`
	// PeakRSSBytes is the largest resident set of the process during any run (Linux's VmHWM,
	// reset before each run), 0 if unknown.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	// Sweep lists every learning rate tried with its dev accuracies; LR is the best.
	Sweep []sweepPoint `json:"lr_sweep"`
	// TrainLoss is the loss of every step, step i+1 at index i.
	TrainLoss []float64 `json:"train_loss"`
	// Evals are the dev-set evaluations during training, the last one after the last step.
	Evals []evalPoint `json:"evals"`
}

// sweepPoint is one learning rate of a method's sweep.
type sweepPoint struct {
	LR            float64   `json:"lr"`
	DevAccuracies []float64 `json:"dev_accuracies"`
	DevMean       float64   `json:"dev_accuracy"`
	DevStd        float64   `json:"dev_accuracy_std"`
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
	if o.test != "" {
		rep.Test = o.test
	}
	rep.Budget.Epochs, rep.Budget.StepsPerEpoch = o.epochs, stepsPerEpoch(len(setup.TrainSet), o.batch)
	rep.Budget.Dropout, rep.Budget.AttentionDropout = o.dropout, o.attnDropout
	rep.Budget.Clip, rep.Budget.WeightDecay, rep.Budget.Warmup = o.clip, o.weightDecay, o.warmup
	rep.Budget.Seeds, rep.Budget.LRFactors = o.seeds, o.lrFactors
	for _, oc := range outcomes {
		rep.Methods = append(rep.Methods, newRow(oc, rep.Budget.StepsPerEpoch, o.test != ""))
		rep.TestExamples = oc.runs[0].test.Examples
	}
	return rep
}

// newRow summarises oc's runs.
func newRow(oc outcome, stepsPerEpoch int, test bool) row {
	r := oc.runs[0].res
	w := row{
		Method: oc.kind, Config: config(oc.method), LR: oc.lr,
		Trainable: r.Trainable, BaseParams: r.Base, PercentOfBase: r.PercentOfBase(),
		DevLoss: r.Dev.Loss, FinalTrainLoss: r.FinalTrainLoss, Steps: r.Steps,
		StepMillis:    float64(r.StepTime) / float64(time.Millisecond),
		CPUStepMillis: float64(oc.runs[0].cpuPerStep) / float64(time.Millisecond),
		TrainSeconds:  r.TrainTime.Seconds(), PeakHeapBytes: r.PeakHeapBytes, Sweep: oc.sweep,
	}
	for _, t := range oc.runs {
		w.Seeds = append(w.Seeds, t.seed)
		w.DevAccuracies = append(w.DevAccuracies, t.res.Dev.Accuracy)
		if test {
			w.TestAccuracies = append(w.TestAccuracies, t.test.Accuracy)
		}
		w.EpochSeconds += t.res.StepTime.Seconds() * float64(stepsPerEpoch) / float64(len(oc.runs))
		w.PeakRSSBytes = max(w.PeakRSSBytes, t.peakRSS)
	}
	w.DevAccuracy, w.DevStd = meanStd(w.DevAccuracies)
	if test {
		w.TestAccuracy, w.TestStd = meanStd(w.TestAccuracies)
	}
	for _, s := range r.History.Steps {
		w.TrainLoss = append(w.TrainLoss, s.Loss)
	}
	for _, e := range r.History.Evals {
		w.Evals = append(w.Evals, evalPoint{Step: e.Step, Accuracy: e.Accuracy, Loss: e.Loss})
	}
	return w
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
	fmt.Fprintf(b, "Training: dropout %g (attention probabilities %g), clip %s, weight decay %g, warm-up %g; %d seed(s) per method%s\n\n",
		bu.Dropout, bu.AttentionDropout, clipText(bu.Clip), bu.WeightDecay, bu.Warmup, bu.Seeds, sweepText(bu.LRFactors))
	test := rep.Test != ""
	testHead, testRule := "", ""
	if test {
		testHead, testRule = " Test acc |", "---:|"
		fmt.Fprintf(b, "Test: %d examples from %s\n\n", rep.TestExamples, rep.Test)
	}
	fmt.Fprintf(b, "| Method | Config | LR | Trainable params | %% of base | Dev acc |%s Final train loss | s/epoch | Time/step | CPU/step | Peak heap | Peak RSS |\n", testHead)
	fmt.Fprintf(b, "|---|---|---:|---:|---:|---:|%s---:|---:|---:|---:|---:|---:|\n", testRule)
	ms := func(v float64) string { return formatStepTime(time.Duration(v * float64(time.Millisecond))) }
	for _, r := range rep.Methods {
		testCell := ""
		if test {
			testCell = " " + formatAccuracy(r.TestAccuracy, r.TestStd, len(r.TestAccuracies)) + " |"
		}
		fmt.Fprintf(b, "| %s | %s | %g | %s | %.3f%% | %s |%s %.4f | %.1f | %s | %s | %s | %s |\n",
			displayName(r.Method), r.Config, r.LR, groupDigits(r.Trainable), r.PercentOfBase,
			formatAccuracy(r.DevAccuracy, r.DevStd, len(r.DevAccuracies)), testCell,
			r.FinalTrainLoss, r.EpochSeconds, ms(r.StepMillis), ms(r.CPUStepMillis), formatMiB(r.PeakHeapBytes), formatMiB(r.PeakRSSBytes))
	}
	if len(bu.LRFactors) > 0 {
		fmt.Fprint(b, "\nLearning-rate sweep (mean dev accuracy; the table shows each method at its best):\n\n")
		for _, r := range rep.Methods {
			fmt.Fprintf(b, "- %s:", displayName(r.Method))
			for _, p := range r.Sweep {
				fmt.Fprintf(b, " lr %g → %s;", p.LR, formatAccuracy(p.DevMean, p.DevStd, len(p.DevAccuracies)))
			}
			fmt.Fprintln(b)
		}
	}
	base := 0
	if len(rep.Methods) > 0 {
		base = rep.Methods[0].BaseParams
	}
	fmt.Fprintf(b, "\nTrainable params include the classification head (pooler and classifier), which every method trains; "+
		"%% of base is of the base model's %s parameters. Dev acc is after the last step; final train loss is the mean of the "+
		"last %d steps. s/epoch is the wall time of one epoch's steps, evaluations excluded (step time × steps per epoch). Time/step is wall time and excludes evaluations; CPU/step is the process's CPU time (user + system, "+
		"all threads) per step, which depends less on other load. Peak heap: %s. Peak RSS: the process's resident-set high-water mark "+
		"(Linux VmHWM, reset before each run).\n", groupDigits(base), lossWindow, heapMeasure)
	return b.Flush()
}

// csvHeader names the columns of results.csv; writeCSV fills them in this order.
var csvHeader = []string{"method", "config", "lr", "trainable_params", "base_params", "percent_of_base",
	"dev_accuracy", "dev_loss", "final_train_loss", "steps", "step_ms", "cpu_step_ms", "train_seconds", "peak_heap_bytes",
	"dev_accuracy_std", "test_accuracy", "test_accuracy_std", "seeds", "epoch_seconds", "peak_rss_bytes"}

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
			g(r.DevStd), g(r.TestAccuracy), g(r.TestStd), strconv.Itoa(len(r.Seeds)), g(r.EpochSeconds), strconv.FormatUint(r.PeakRSSBytes, 10),
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

// formatAccuracy shows an accuracy in percent, with its standard deviation over n > 1 runs.
func formatAccuracy(mean, std float64, n int) string {
	if n > 1 {
		return fmt.Sprintf("%.2f ± %.2f%%", 100*mean, 100*std)
	}
	return fmt.Sprintf("%.2f%%", 100*mean)
}

// clipText describes the gradient norm cap.
func clipText(clip float64) string {
	if clip == 0 {
		return "none"
	}
	return fmt.Sprintf("at norm %g", clip)
}

// sweepText describes a learning-rate sweep, "" for none.
func sweepText(factors []float64) string {
	if len(factors) == 0 {
		return ""
	}
	fs := make([]string, len(factors))
	for i, f := range factors {
		fs[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return "; learning rates swept over ×" + strings.Join(fs, ", ×") + " of each method's"
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
