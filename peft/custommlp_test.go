package peft_test

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/safetensors"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
)

// updateCustomMLP rewrites testdata/custom-mlp from the live check (needs SPAGO_PEFT_VENV).
var updateCustomMLP = flag.Bool("update-custom-mlp", false, "rewrite testdata/custom-mlp from the real PEFT")

const customMLPDir = "testdata/custom-mlp"

// mlp is a user's own model, as testdata/custom-mlp/peft_mlp.py builds it in PyTorch:
// output(tanh(hidden(x))), 8 → 32 → 4.
type mlp struct {
	nn.Module
	Hidden nn.StandardModel
	Output nn.StandardModel
}

func newMLP() *mlp {
	rng := rand.New(rand.NewPCG(7, 7))
	return &mlp{Hidden: adaptertest.Layer[float32](rng, 8, 32), Output: adaptertest.Layer[float32](rng, 32, 4)}
}

// mlpInputs are the five inputs of the check, as rows.
func mlpInputs() *mat.Dense[float32] {
	return adaptertest.Rows[float32](rand.New(rand.NewPCG(8, 8)), 5, 8)
}

// outputs returns the model's outputs on the inputs, row by row.
func (m *mlp) outputs() [][]float64 {
	x := mlpInputs()
	var xs []mat.Tensor
	for i := range 5 {
		xs = append(xs, ag.T(ag.RowView(x, i)).Value())
	}
	hs := m.Hidden.Forward(xs...)
	for i, h := range hs {
		hs[i] = ag.Tanh(h)
	}
	var out [][]float64
	for _, y := range m.Output.Forward(hs...) {
		out = append(out, y.Value().Data().F64())
	}
	return out
}

var mlpConfigs = map[string]peft.Config{
	"hra":  hra.Config{R: 4},
	"lora": lora.Config{R: 4, Alpha: 8},
	"oft":  oft.Config{BlockSize: 4},
}

// goAdapterMLP returns the MLP wrapped by Go with adapters of method moved away from their start.
func goAdapterMLP(t *testing.T, method string) *mlp {
	t.Helper()
	m := newMLP()
	rng := rand.New(rand.NewPCG(9, 9))
	adapters, err := peft.Wrap(m, mlpConfigs[method], peft.Targets{Modules: []string{"hidden", "output"}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	adaptertest.Randomize(rng, 0.3, peft.TrainableParams(adapters)...)
	return m
}

type customMLPExpected struct {
	Versions map[string]string
	GoInPEFT map[string][][]float64 `json:"go_in_peft"`
	PEFT     map[string][][]float64 `json:"peft"`
}

// readCustomMLPExpected reads dir/expected.json.
func readCustomMLPExpected(t *testing.T, dir string) customMLPExpected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e customMLPExpected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func checkOutputs(t *testing.T, what string, got, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := adaptertest.MaxAbsDiff(got[i], want[i]); d > 2e-6 || len(got[i]) != len(want[i]) {
			t.Errorf("%s: output %d differs by %g:\n got %v\nwant %v", what, i, d, got[i], want[i])
		}
	}
}

// A user's own model moves between Go and the real PEFT both ways: an adapter Go's Save wrote
// gives PEFT's PeftModel.from_pretrained the outputs Go computes, and an adapter PEFT's
// save_pretrained wrote gives Go's Load the outputs PEFT computed (fixtures from
// testdata/custom-mlp/peft_mlp.py, PEFT 0.21.2).
func TestCustomModelMatchesPEFT(t *testing.T) {
	want := readCustomMLPExpected(t, customMLPDir)
	for method := range mlpConfigs {
		t.Run(method, func(t *testing.T) {
			checkOutputs(t, "Go's adapter in PEFT", goAdapterMLP(t, method).outputs(), want.GoInPEFT[method])
			m := newMLP()
			if _, err := peft.Load(filepath.Join(customMLPDir, "peft-"+method), m); err != nil {
				t.Fatal(err)
			}
			checkOutputs(t, "PEFT's adapter in Go", m.outputs(), want.PEFT[method])
		})
	}
}

// The live check runs peft_mlp.py with the real libraries on adapters Go saves now, and compares
// as TestCustomModelMatchesPEFT does; with -update-custom-mlp it rewrites the fixtures.
func TestCustomModelMatchesPEFTLive(t *testing.T) {
	python := testenv.Python(t)
	work, out := t.TempDir(), t.TempDir()
	if *updateCustomMLP {
		out = customMLPDir
	}
	base := newMLP()
	x := mlpInputs()
	var tensors []safetensors.Tensor
	for name, l := range map[string]nn.StandardModel{"hidden": base.Hidden, "output": base.Output} {
		lin := l.(*linear.Model)
		tensors = append(tensors,
			safetensors.Tensor{Name: name + ".weight", Shape: lin.W.Shape(), Data: lin.W.Value().Data().F32()},
			safetensors.Tensor{Name: name + ".bias", Shape: lin.B.Shape(), Data: lin.B.Value().Data().F32()})
	}
	tensors = append(tensors, safetensors.Tensor{Name: "inputs", Shape: x.Shape(), Data: x.Data().F32()})
	f, err := os.Create(filepath.Join(work, "base.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(f, tensors, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	goOutputs := map[string][][]float64{}
	for method := range mlpConfigs {
		m := goAdapterMLP(t, method)
		goOutputs[method] = m.outputs()
		if err := peft.Save(filepath.Join(work, "go-"+method), m); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(python, filepath.Join(customMLPDir, "peft_mlp.py"), work, out)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("peft_mlp.py: %v\n%s", err, output)
	}
	got := readCustomMLPExpected(t, out)
	t.Logf("versions %v", got.Versions)
	for method := range mlpConfigs {
		checkOutputs(t, method+": Go's adapter in PEFT", got.GoInPEFT[method], goOutputs[method])
		m := newMLP()
		if _, err := peft.Load(filepath.Join(out, "peft-"+method), m); err != nil {
			t.Fatal(err)
		}
		checkOutputs(t, method+": PEFT's adapter in Go", m.outputs(), got.PEFT[method])
	}
}
