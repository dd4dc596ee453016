package main

import (
	"bufio"
	"encoding/json"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/finetune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readMasks reads a --masks file: each record and its packed masks, one slice per sequence.
func readMasks(t *testing.T, path string) ([]maskRecord, [][][]byte) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := bufio.NewReader(f)
	var recs []maskRecord
	var masks [][][]byte
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return recs, masks
		}
		require.NoError(t, err)
		var rec maskRecord
		require.NoError(t, json.Unmarshal(line, &rec))
		var seqs [][]byte
		for _, n := range rec.Sizes {
			b := make([]byte, (n+7)/8)
			_, err := io.ReadFull(r, b)
			require.NoError(t, err)
			seqs = append(seqs, b)
		}
		recs, masks = append(recs, rec), append(masks, seqs)
	}
}

// TestMasksFile runs two steps with both dropouts and checks --masks: every site of every pass in
// forward order, each example's key once per site, and masks that keep about 1 − p of the values.
func TestMasksFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "masks.bin")
	code, _, stderr := runCompare(t, "--methods", "head", "--steps", "2", "--batch", "4", "--max-len", "32", "--workers", "2",
		"--dropout", "0.1", "--attention-dropout", "0.3", "--masks", path, "--out", filepath.Join(dir, "results"))
	require.Equal(t, exitOK, code, stderr)
	recs, masks := readMasks(t, path)

	ck, _, err := finetune.DefaultBase()
	require.NoError(t, err)
	sitesPerPass := 2 + 3*ck.Config.NumHiddenLayers
	seen := map[[2]int]int{} // (key, site) → times
	kept, total := map[string]int{}, map[string]int{}
	for i, rec := range recs {
		assert.Equal(t, "head", rec.Method)
		kind := "tokens"
		switch {
		case rec.Site == 1:
		case rec.Site == sitesPerPass:
			kind = "sequences"
		case (rec.Site-2)%3 == 0:
			kind = "attention"
		}
		require.Equal(t, kind, rec.Kind, "site %d", rec.Site)
		wantP := 0.1
		if kind == "attention" {
			wantP = 0.3
		}
		assert.Equal(t, wantP, rec.P)
		for s, key := range rec.Keys {
			seen[[2]int{int(key), rec.Site}]++
			for _, b := range masks[i][s] {
				kept[kind] += bits.OnesCount8(b)
			}
			total[kind] += rec.Sizes[s]
		}
	}
	for key := range 8 { // 2 steps × batch 4, split between 2 workers
		for site := 1; site <= sitesPerPass; site++ {
			assert.Equal(t, 1, seen[[2]int{key, site}], "key %d, site %d", key, site)
		}
	}
	assert.Len(t, seen, 8*sitesPerPass)
	for kind, p := range map[string]float64{"tokens": 0.1, "attention": 0.3} {
		assert.InDelta(t, 1-p, float64(kept[kind])/float64(total[kind]), 0.02, kind)
	}
}

func TestMasksWithoutDropout(t *testing.T) {
	code, _, stderr := runCompare(t, "--masks", filepath.Join(t.TempDir(), "m"), "--out", filepath.Join(t.TempDir(), "r"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--masks without dropout")
}

// TestSaveAdapterInit checks --save-adapter-init: a PEFT directory per adapter method, none for
// the head alone, holding the adapters of the first seed's model before training.
func TestSaveAdapterInit(t *testing.T) {
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	code, _, stderr := runCompare(t, "--methods", "lora,head", "--steps", "1", "--batch", "4", "--max-len", "32",
		"--save-adapter-init", init, "--out", filepath.Join(dir, "results"))
	require.Equal(t, exitOK, code, stderr)
	assert.NoDirExists(t, filepath.Join(init, "head"))
	ck, _, err := finetune.DefaultBase()
	require.NoError(t, err)
	saved, err := bert.LoadAdapter(ck, filepath.Join(init, "lora"))
	require.NoError(t, err)
	o, err := parseFlags([]string{"--methods", "lora"}, io.Discard)
	require.NoError(t, err)
	fresh, err := bert.New(ck, bert.Options{Adapter: o.methods[0].adapter, Targets: o.targets, NumLabels: 2, Seed: 42})
	require.NoError(t, err)
	require.Equal(t, len(fresh.Adapters()), len(saved.Adapters()))
	for name, a := range fresh.Adapters() {
		want, got := a.TrainableParams(), saved.Adapters()[name].TrainableParams()
		require.Equal(t, len(want), len(got), name)
		for i := range want {
			assert.Equal(t, want[i].Value().Data().F64(), got[i].Value().Data().F64(), "%s parameter %d", name, i)
		}
	}
}
