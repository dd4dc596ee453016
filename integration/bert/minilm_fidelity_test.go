package bert

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/internal/safetensors"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/stretchr/testify/require"
)

// miniLMFixture is testdata/minilm, written by testdata/make_minilm_fidelity.py with real
// transformers (BertTokenizerFast, BertModel in evaluation mode, padded batches of 32) from
// all-MiniLM-L6-v2 over the 872 SST-2 dev sentences.
const miniLMFixture = "testdata/minilm"

// miniLMTolerance bounds every difference from transformers: ids are equal, hidden states,
// their norms and pooled outputs within 1e-4.
const miniLMTolerance = 1e-4

type miniLMIDs struct {
	Versions  map[string]string `json:"versions"`
	Sentences []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"sentences"`
}

// readFloats returns every tensor of a safetensors file as float32s.
func readFloats(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	out, _ := readSafetensors(t, path)
	return out
}

// readSafetensors returns every tensor of a safetensors file as float32s, and its metadata.
func readSafetensors(t *testing.T, path string) (map[string][]float32, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	info, err := f.Stat()
	require.NoError(t, err)
	st, err := safetensors.Parse(f, info.Size())
	require.NoError(t, err)
	out := map[string][]float32{}
	for _, e := range st.Entries {
		out[e.Name], err = st.Float32(e)
		require.NoError(t, err)
	}
	return out, st.Metadata
}

// miniLMOutputs runs our tokenizer and encoder over the fixture's sentences in batches of 32 and
// returns every sentence's ids, last hidden state (tokens × hidden, row-major) and pooled output.
func miniLMOutputs(t *testing.T, dir string, texts []string) (ids [][]int, hidden [][]float64, pooled [][]float64) {
	t.Helper()
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	tok, err := tokenizer.FromDir(dir)
	require.NoError(t, err)
	m, err := New(ck, Options{NumLabels: 2})
	require.NoError(t, err)
	for _, text := range texts {
		ids = append(ids, tok.Encode(text, 512).IDs)
	}
	const batch = 32
	for lo := 0; lo < len(ids); lo += batch {
		hs, p, err := m.Encode(Batch{IDs: ids[lo:min(lo+batch, len(ids))]})
		require.NoError(t, err)
		for _, h := range hs {
			hidden = append(hidden, h.Value().Data().F64())
		}
		pv, h := p.Value().Data().F64(), ck.Config.HiddenSize
		for i := range len(hs) {
			pooled = append(pooled, pv[i*h:(i+1)*h])
		}
	}
	return ids, hidden, pooled
}

// largestDiff returns the largest |want[i] − got[i]| and its index.
func largestDiff(want []float32, got []float64) (float64, int) {
	worst, at := 0.0, -1
	for i, w := range want {
		if d := math.Abs(float64(w) - got[i]); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}

// checkMiniLM compares our ids, hidden states and pooled outputs with the fixture's, and with
// allHidden (every sentence's hidden state from transformers) if not nil.
func checkMiniLM(t *testing.T, dir string, allHidden []float32) {
	var fixture miniLMIDs
	readJSON(t, filepath.Join(miniLMFixture, "dev_ids.json"), &fixture)
	require.Len(t, fixture.Sentences, 872)
	texts := make([]string, len(fixture.Sentences))
	for i, s := range fixture.Sentences {
		texts[i] = s.Text
	}
	want := readFloats(t, filepath.Join(miniLMFixture, "dev_outputs.safetensors"))
	ids, hidden, pooled := miniLMOutputs(t, dir, texts)

	tokens := 0
	for i, s := range fixture.Sentences {
		require.Equal(t, s.IDs, ids[i], "ids of dev sentence %d %q", i, s.Text)
		tokens += len(s.IDs)
	}
	const h = 384
	require.Len(t, want["pooled"], len(texts)*h)
	require.Len(t, want["token_norms"], tokens)
	var flat, norms, pooledFlat []float64
	for i := range texts {
		flat = append(flat, hidden[i]...)
		pooledFlat = append(pooledFlat, pooled[i]...)
	}
	for r := 0; r < len(flat)/h; r++ {
		var sq float64
		for _, v := range flat[r*h : (r+1)*h] {
			sq += v * v
		}
		norms = append(norms, math.Sqrt(sq))
	}
	checks := []struct {
		name string
		want []float32
		got  []float64
	}{
		{"pooled outputs", want["pooled"], pooledFlat},
		{"hidden-state norms", want["token_norms"], norms},
		{"hidden states of the first sentences", want["hidden_head"], flat[:len(want["hidden_head"])]},
	}
	if allHidden != nil {
		require.Len(t, allHidden, len(flat))
		checks = append(checks, struct {
			name string
			want []float32
			got  []float64
		}{"every hidden state", allHidden, flat})
	}
	for _, c := range checks {
		require.Len(t, c.got, len(c.want), c.name)
		d, at := largestDiff(c.want, c.got)
		require.LessOrEqual(t, d, miniLMTolerance, "%s: largest difference %g at %d", c.name, d, at)
		t.Logf("%s: largest difference from transformers %.2g", c.name, d)
	}
}

// TestMiniLMFidelity checks our tokenizer and forward on the real all-MiniLM-L6-v2 against the
// committed transformers outputs for the 872 SST-2 dev sentences.
func TestMiniLMFidelity(t *testing.T) {
	dir := testenv.Model(t, "all-MiniLM-L6-v2")
	checkMiniLM(t, dir, nil)
}

// TestMiniLMFidelityLive regenerates the reference with the real libraries and compares every
// hidden state, not only the fixture's summary of them.
func TestMiniLMFidelityLive(t *testing.T) {
	py := testenv.Python(t)
	dir := testenv.Model(t, "all-MiniLM-L6-v2")
	tmp := t.TempDir()
	dev := filepath.Join(tmp, "dev.tsv")
	var fixture miniLMIDs
	readJSON(t, filepath.Join(miniLMFixture, "dev_ids.json"), &fixture)
	text := "sentence\tlabel\n"
	for _, s := range fixture.Sentences {
		text += s.Text + "\t0\n"
	}
	require.NoError(t, os.WriteFile(dev, []byte(text), 0o644))
	all := filepath.Join(tmp, "hidden.safetensors")
	cmd := exec.Command(py, filepath.Join("testdata", "make_minilm_fidelity.py"), dir, dev, filepath.Join(tmp, "out"), "--all-hidden", all)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var live miniLMIDs
	readJSON(t, filepath.Join(tmp, "out", "dev_ids.json"), &live)
	require.Equal(t, fixture.Sentences, live.Sentences, "the committed ids are what transformers gives now")
	checkMiniLM(t, dir, readFloats(t, all)["hidden"])
}
