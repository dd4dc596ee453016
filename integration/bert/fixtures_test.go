package bert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/stretchr/testify/require"
)

// tinyBERT is the checkpoint package's fixture: hidden 32, 2 layers, 4 heads, 3 labels, with a
// classifier, and expected.json from a PyTorch forward in float64.
const tinyBERT = "../checkpoint/testdata/tiny-bert"

// sstBERTTiny is the shared bert-tiny (hidden 128) whose expected.json has three sentences.
const sstBERTTiny = "../../../shared/models/sst-bert-tiny"

type tinyExpected struct {
	Cases []struct {
		Name            string        `json:"name"`
		InputIDs        [][]int       `json:"input_ids"`
		TokenTypeIDs    [][]int       `json:"token_type_ids"`
		AttentionMask   [][]int       `json:"attention_mask"`
		LastHiddenState [][][]float64 `json:"last_hidden_state"`
		PooledOutput    [][]float64   `json:"pooled_output"`
		Logits          [][]float64   `json:"logits"`
	} `json:"cases"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v))
}

// loadTiny returns tiny-bert loaded from model.safetensors (LoadDir) and from pytorch_model.bin.
func loadTiny(t *testing.T) map[string]*checkpoint.Checkpoint {
	t.Helper()
	st, err := checkpoint.LoadDir(tinyBERT)
	require.NoError(t, err)
	cfg, err := checkpoint.ReadConfig(filepath.Join(tinyBERT, checkpoint.ConfigFile))
	require.NoError(t, err)
	tensors, err := checkpoint.LoadPyTorch(filepath.Join(tinyBERT, checkpoint.PyTorchFile))
	require.NoError(t, err)
	return map[string]*checkpoint.Checkpoint{
		"safetensors": st,
		"pytorch":     {Config: cfg, Tensors: tensors},
	}
}

// assertRows fails unless got (rows×cols) equals want within tol.
func assertRows(t *testing.T, what string, want [][]float64, got mat.Tensor, tol float64) {
	t.Helper()
	s := got.Value().Shape()
	require.Equal(t, []int{len(want), len(want[0])}, s, what)
	v := got.Value().Data().F64()
	worst := 0.0
	for i, row := range want {
		for j, w := range row {
			worst = max(worst, abs(v[i*s[1]+j]-w))
		}
	}
	t.Logf("%s: max difference from PyTorch %.2g", what, worst)
	if worst > tol {
		t.Errorf("%s: max difference %.3g from PyTorch, over %g", what, worst, tol)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestTinyBERTMatchesPyTorch(t *testing.T) {
	var want tinyExpected
	readJSON(t, filepath.Join(tinyBERT, "expected.json"), &want)
	for format, ck := range loadTiny(t) {
		m, err := New(ck, Options{})
		require.NoError(t, err)
		for _, c := range want.Cases {
			t.Run(format+"/"+c.Name, func(t *testing.T) {
				// The model takes unpadded sequences: drop the masked positions.
				var b Batch
				for s, ids := range c.InputIDs {
					n := 0
					for _, on := range c.AttentionMask[s] {
						n += on
					}
					b.IDs = append(b.IDs, ids[:n])
					b.TypeIDs = append(b.TypeIDs, c.TokenTypeIDs[s][:n])
				}
				hidden, pooled, err := m.Encode(b)
				require.NoError(t, err)
				for s := range b.IDs {
					assertRows(t, "last hidden state", c.LastHiddenState[s][:len(b.IDs[s])], hidden[s], 1e-4)
				}
				assertRows(t, "pooled output", c.PooledOutput, pooled, 1e-4)
				logits, err := m.Logits(b)
				require.NoError(t, err)
				assertRows(t, "logits", c.Logits, logits, 1e-4)
			})
		}
	}
}

func TestSSTBERTTinyMatchesPyTorch(t *testing.T) {
	if _, err := os.Stat(sstBERTTiny); err != nil {
		t.Skipf("shared model %s is absent (%v); it lives outside the repository", sstBERTTiny, err)
	}
	var want struct {
		Cases []struct {
			InputIDs        []int       `json:"input_ids"`
			LastHiddenState [][]float64 `json:"last_hidden_state"`
			PoolerOutput    []float64   `json:"pooler_output"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join(sstBERTTiny, "expected.json"), &want)
	ck, err := checkpoint.LoadDir(sstBERTTiny)
	require.NoError(t, err)
	m, err := New(ck, Options{})
	require.NoError(t, err)
	var b Batch
	var pooled [][]float64
	for _, c := range want.Cases {
		b.IDs = append(b.IDs, c.InputIDs)
		pooled = append(pooled, c.PoolerOutput)
	}
	hidden, gotPooled, err := m.Encode(b) // one batch of sequences of different lengths
	require.NoError(t, err)
	for s, c := range want.Cases {
		assertRows(t, "last hidden state", c.LastHiddenState, hidden[s], 1e-4)
	}
	assertRows(t, "pooled output", pooled, gotPooled, 1e-4)
}
