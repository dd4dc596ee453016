package bert

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peftFixtures holds adapter directories in PEFT's layout and their logits from an independent
// PyTorch forward; see testdata/make_peft_adapters.py.
const peftFixtures = "testdata/peft"

type peftExpected struct {
	InputIDs     [][]int `json:"input_ids"`
	TokenTypeIDs [][]int `json:"token_type_ids"`
	Cases        map[string]struct {
		Logits [][]float64 `json:"logits"`
		// HeadOnlyLogits are those of the saved head without the adapters.
		HeadOnlyLogits [][]float64 `json:"head_only_logits"`
	} `json:"cases"`
}

// TestLoadPEFTAdapters loads each PEFT-written adapter onto tiny-bert and reproduces PyTorch's
// logits, which differ clearly from those of the same head without the adapters.
func TestLoadPEFTAdapters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(peftFixtures, "expected.json"))
	require.NoError(t, err)
	var want peftExpected
	require.NoError(t, json.Unmarshal(data, &want))
	require.NotEmpty(t, want.Cases)
	ck := loadFileCheckpoint(t)
	batch := Batch{IDs: want.InputIDs, TypeIDs: want.TokenTypeIDs}
	names := make([]string, 0, len(want.Cases))
	for name := range want.Cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m, err := LoadAdapter(ck, filepath.Join(peftFixtures, name))
			require.NoError(t, err)
			y, err := m.Logits(batch)
			require.NoError(t, err)
			got := y.Value().Data().F64()
			expected := want.Cases[name].Logits
			require.Len(t, got, len(expected)*len(expected[0]))
			worst, moved := 0.0, 0.0
			for i, row := range expected {
				for j, v := range row {
					worst = math.Max(worst, math.Abs(got[i*len(row)+j]-v))
					moved = math.Max(moved, math.Abs(v-want.Cases[name].HeadOnlyLogits[i][j]))
				}
			}
			t.Logf("max difference from PyTorch %.2g; the adapter moves the logits by up to %.2g", worst, moved)
			assert.LessOrEqual(t, worst, 1e-4)
			assert.Greater(t, moved, 0.05, "the adapter changes the logits")

			// Merged and exported, the plain model gives PyTorch's logits too.
			plain := exportedModel(t, m)
			y, err = plain.Logits(batch)
			require.NoError(t, err)
			for i, v := range y.Value().Data().F64() {
				assert.InDelta(t, expected[i/len(expected[0])][i%len(expected[0])], v, 1e-4)
			}
		})
	}
}
