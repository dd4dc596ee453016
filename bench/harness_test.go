package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/internal/testenv"
)

// TestPytorchCompareQuick runs pytorch_compare.py in quick mode on one or two configurations of
// every family, PyTorch at one thread, and checks that each row came out with PyTorch's, ONNX
// Runtime's (base inference) and Go's figures, their ratios and the peak RSS of both sides: the
// harness works end to end. It runs only with the reference environment (SPAGO_PEFT_VENV), and
// takes about a minute.
func TestPytorchCompareQuick(t *testing.T) {
	python := testenv.Python(t)
	if testing.Short() {
		t.Skip("runs PyTorch, ONNX Runtime and the Go benchmarks: about a minute")
	}
	only := `^(Gemm/32x128x128|Adapter/d=384/hra8|TrainStep/tiny/hra8/batch=1|Inference/tiny/base/batch=1|Epoch/sst2/bert-tiny/head/)`
	cmd := exec.Command(python, "pytorch_compare.py", "--quick", "--threads", "1", "--only", only)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pytorch_compare.py: %v\n%s", err, stderr.String())
	}
	table := markdownTable(string(out))

	figures := []string{"PyTorch 1T", "PyTorch best", "Go", "Go / PyTorch best"}
	memory := slices.Concat(figures, []string{"Go peak RSS MB", "PyTorch peak RSS MB"})
	tests := []struct {
		row  string
		want []string
	}{
		{"Gemm/32x128x128", figures},
		{"Adapter/d=384/hra8", figures},
		{"Adapter/d=384/hra8 (activations)", figures},
		{"TrainStep/tiny/hra8/batch=1", memory},
		{"TrainStep/tiny/hra8/batch=1 (activations)", memory},
		{"Inference/tiny/base/batch=1", slices.Concat(memory, []string{"ORT 1T", "Go / ORT best"})},
	}
	if _, err := os.Stat(filepath.Join(sharedDir(), "data", "sst2")); err == nil {
		tests = append(tests, struct {
			row  string
			want []string
		}{"Epoch/sst2/bert-tiny/head/batch=32 (s per epoch)", memory})
	}
	for _, tt := range tests {
		cells, ok := table[tt.row]
		if !ok {
			t.Errorf("no row %q in\n%s", tt.row, out)
			continue
		}
		for _, column := range tt.want {
			if cells[column] == "" {
				t.Errorf("row %q: no %q", tt.row, column)
			}
		}
	}
}

// markdownTable returns the cells of the first Markdown table in text, by row label (its first
// cell) and column header.
func markdownTable(text string) map[string]map[string]string {
	rows := map[string]map[string]string{}
	var header []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			row := map[string]string{}
			for i, c := range cells {
				if i < len(header) {
					row[header[i]] = c
				}
			}
			rows[cells[0]] = row
		}
	}
	return rows
}
