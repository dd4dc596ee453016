package bert

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer/hfjson"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tiny DeBERTa-v2 checkpoints of testdata/make_tiny_deberta.py.
const (
	tinyDebertaV3   = "testdata/tiny-deberta-v3"
	tinyDebertaProj = "testdata/tiny-deberta-proj"
	// tinyDebertaPlain has relative_attention false: DeBERTa's layout with BERT's attention.
	tinyDebertaPlain = "testdata/tiny-deberta-plain"
	// debertaTolerance bounds |Go − transformers| on hidden states and logits.
	debertaTolerance = 1e-4
)

// debertaExpected is a checkpoint's expected.safetensors: transformers' outputs on its batch.
type debertaExpected struct {
	batch   Batch
	lengths []int
	values  map[string][]float32
	meta    map[string]string
}

func readDebertaExpected(t *testing.T, dir string) debertaExpected {
	t.Helper()
	var e debertaExpected
	e.values, e.meta = readSafetensors(t, filepath.Join(dir, "expected.safetensors"))
	require.NoError(t, json.Unmarshal([]byte(e.meta["ids"]), &e.batch.IDs))
	require.NoError(t, json.Unmarshal([]byte(e.meta["token_type_ids"]), &e.batch.TypeIDs))
	require.NoError(t, json.Unmarshal([]byte(e.meta["lengths"]), &e.lengths))
	return e
}

// deviation is the largest |want − got| over the elements of two equally long slices.
func deviation(t *testing.T, want []float32, got []float64) float64 {
	t.Helper()
	require.Len(t, got, len(want))
	worst := 0.0
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(w)-got[i]))
	}
	return worst
}

// TestDebertaMatchesTransformers runs the tiny DeBERTa checkpoints on transformers' padded batch
// and compares the embeddings, every token's last hidden state, the pooled output and the logits.
func TestDebertaMatchesTransformers(t *testing.T) {
	for _, dir := range []string{tinyDebertaV3, tinyDebertaProj, tinyDebertaPlain} {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkDebertaOutputs(t, dir) })
	}
}

// TestLiveDebertaV3BaseShapes has transformers write a random DeBERTa of DeBERTa-v3-base's layer
// shapes and 256 position buckets over 512 positions (make_tiny_deberta.py base-shapes, 64 MB, not
// committed) and compares Go with it on sequences of up to 300 tokens, far into the logarithmic
// buckets.
func TestLiveDebertaV3BaseShapes(t *testing.T) {
	py := testenv.Python(t)
	dir := t.TempDir()
	out, err := exec.Command(py, "testdata/make_tiny_deberta.py", "base-shapes", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	checkDebertaOutputs(t, dir)
}

// checkDebertaOutputs runs the DeBERTa checkpoint in dir on the batch of its expected.safetensors
// and compares the embeddings, every token's last hidden state, the pooled output and the logits
// with transformers'.
func checkDebertaOutputs(t *testing.T, dir string) {
	t.Helper()
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	want := readDebertaExpected(t, dir)
	t.Logf("fixture from %s", want.meta["versions"])
	m, err := New(ck, Options{})
	require.NoError(t, err)
	p, err := m.pack(want.batch)
	require.NoError(t, err)
	check := func(what string, wantValues []float32, got []float64) {
		d := deviation(t, wantValues, got)
		t.Logf("%s: max |Go − transformers| = %.2g", what, d)
		assert.LessOrEqual(t, d, debertaTolerance, what)
	}
	check("embeddings", want.values["embeddings"], m.embed(p).Value().Data().F64())
	hidden, pooled, err := m.Encode(want.batch)
	require.NoError(t, err)
	var last []float64
	for _, h := range hidden {
		last = append(last, h.Value().Data().F64()...)
	}
	check("last hidden state", want.values[fmt.Sprintf("hidden.%d", ck.Config.NumHiddenLayers-1)], last)
	check("pooled output", want.values["pooled"], pooled.Value().Data().F64())
	logits, err := m.Logits(want.batch)
	require.NoError(t, err)
	check("logits", want.values["logits"], logits.Value().Data().F64())
}

// TestDebertaTokenizerIDs checks that Go's SentencePiece tokenizer gives the ids the fixture of
// tiny-deberta-v3 was made with (transformers' DebertaV2Tokenizer on the same spm.model), pairs
// included.
func TestDebertaTokenizerIDs(t *testing.T) {
	gz, err := os.ReadFile("../tokenizer/hfjson/testdata/spm.model.gz")
	require.NoError(t, err)
	r, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	tok, err := hfjson.ParseSentencePiece(data, hfjson.SentencePieceOptions{})
	require.NoError(t, err)
	want := readDebertaExpected(t, tinyDebertaV3)
	var sentences [][2]*string
	require.NoError(t, json.Unmarshal([]byte(want.meta["sentences"]), &sentences))
	require.Len(t, sentences, len(want.batch.IDs))
	for i, s := range sentences {
		if s[1] == nil {
			assert.Equal(t, want.batch.IDs[i], tok.Encode(*s[0], 64).IDs, *s[0])
			continue
		}
		e := tok.EncodePair(*s[0], *s[1], 64)
		assert.Equal(t, want.batch.IDs[i], e.IDs, "%s | %s", *s[0], *s[1])
		assert.Equal(t, want.batch.TypeIDs[i], e.TypeIDs, "%s | %s", *s[0], *s[1])
	}
}

// debertaBatch returns the batch of the checkpoint's fixture.
func debertaBatch(t *testing.T, dir string) Batch {
	t.Helper()
	return readDebertaExpected(t, dir).batch
}

func loadDeberta(t *testing.T, dir string) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.LoadDir(dir)
	require.NoError(t, err)
	return ck
}

// debertaCases adapt, on each checkpoint, the linear layers that take part in the disentangled
// attention: query_proj and key_proj also project the relative embeddings when share_att_key is
// on (tiny-deberta-v3), pos_key_proj does when it is off (tiny-deberta-proj); "dense" takes the
// pooler too.
var debertaCases = []struct {
	dir     string
	targets peft.Targets
}{
	{tinyDebertaV3, peft.Targets{Modules: []string{"query_proj", "key_proj", "value_proj", "dense"}}},
	{tinyDebertaProj, peft.Targets{Modules: []string{"embed_proj", "query_proj", "pos_key_proj", "value_proj", "dense"}}},
}

// TestDebertaMergeKeepsLogits checks merged == unmerged for each method on both checkpoints, the
// adapters moved off the identity.
func TestDebertaMergeKeepsLogits(t *testing.T) {
	for _, c := range debertaCases {
		ck, b := loadDeberta(t, c.dir), debertaBatch(t, c.dir)
		base := logitValues(t, must(New(ck, Options{})), b)
		for _, method := range methods {
			t.Run(filepath.Base(c.dir)+"/"+method.name, func(t *testing.T) {
				m, err := New(ck, Options{Adapter: method.config, Targets: c.targets})
				require.NoError(t, err)
				assert.InDeltaSlice(t, base, logitValues(t, m, b), 1e-5, "adapters start as the identity")
				perturb(m, 2)
				want := logitValues(t, m, b)
				require.Greater(t, maxDiff(want, base), 1e-3)
				require.NoError(t, m.Merge())
				assert.InDeltaSlice(t, want, logitValues(t, m, b), 1e-4)
				require.NoError(t, m.Unmerge())
				assert.InDeltaSlice(t, want, logitValues(t, m, b), 1e-4)
			})
		}
	}
}

// TestDebertaGradientsFloat64 checks the gradients of the whole DeBERTa model by finite
// differences, in float64: of the adapters of layer 0's query_proj and key_proj (which also
// project the relative embeddings), and, in full fine-tuning, of the relative embeddings, their
// LayerNorm, embed_proj and a pos_key_proj.
func TestDebertaGradientsFloat64(t *testing.T) {
	ck := loadDeberta(t, tinyDebertaV3)
	b := debertaBatch(t, tinyDebertaV3)
	b.IDs, b.TypeIDs = b.IDs[:2], b.TypeIDs[:2] // short sequences keep it fast
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := newModel[float64](ck, Options{Adapter: method.config, Targets: debertaCases[0].targets})
			require.NoError(t, err)
			perturb(m, 4)
			var inputs []*mat.Dense[float64]
			for _, name := range []string{"encoder.layer.0.attention.self.query_proj", "encoder.layer.0.attention.self.key_proj"} {
				for _, p := range m.Adapters()[name].TrainableParams() {
					inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
				}
			}
			loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 5) }
			gradcheck.Check(t, loss, 1e-5, inputs...)
		})
	}
	t.Run("full fine-tuning", func(t *testing.T) {
		m, err := newModel[float64](ck, Options{FullFineTune: true})
		require.NoError(t, err)
		rel := m.deberta.rel
		loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 6) }
		gradcheck.Check(t, loss, 1e-5, dense64(rel.Embeddings, rel.Norm.Weight, m.Embeddings.Norm.Bias)...)
	})
	t.Run("full fine-tuning, embed_proj and pos_key_proj", func(t *testing.T) {
		ck := loadDeberta(t, tinyDebertaProj)
		b := debertaBatch(t, tinyDebertaProj)
		m, err := newModel[float64](ck, Options{FullFineTune: true})
		require.NoError(t, err)
		loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 7) }
		gradcheck.Check(t, loss, 1e-5, dense64(m.Embeddings.Project.W, m.deberta.rel.PosKey[1].B, m.Embeddings.TokenType)...)
	})
}

// TestDebertaDropout checks that hidden dropout (which also drops the relative embeddings, as
// transformers' pos_dropout) and attention dropout (inside the disentangled attention) act in
// training mode only.
func TestDebertaDropout(t *testing.T) {
	ck, b := loadDeberta(t, tinyDebertaV3), debertaBatch(t, tinyDebertaV3)
	for _, opts := range []Options{{HiddenDropout: 0.1}, {AttentionDropout: 0.2}} {
		m := must(New(ck, opts))
		eval := logitValues(t, m, b)
		m.SetTraining(true)
		assert.Greater(t, maxDiff(eval, logitValues(t, m, b)), 1e-4, "%+v", opts)
		keyed := b
		keyed.DropoutKeys = make([]uint64, len(b.IDs))
		for i := range keyed.DropoutKeys {
			keyed.DropoutKeys[i] = uint64(40 + i)
		}
		first := logitValues(t, m, keyed)
		assert.Equal(t, first, logitValues(t, m, keyed), "the same keys, the same masks: %+v", opts)
		m.SetTraining(false)
		assert.Equal(t, eval, logitValues(t, m, b))
	}
}

// TestDebertaBatchedIsOneByOne checks that each sequence of the padded batch gets the logits it
// gets alone, where the attention reads fewer relative positions.
func TestDebertaBatchedIsOneByOne(t *testing.T) {
	for _, c := range debertaCases {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			ck, b := loadDeberta(t, c.dir), debertaBatch(t, c.dir)
			m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 4}, Targets: c.targets}))
			perturb(m, 5)
			batched := logitValues(t, m, b)
			labels := len(batched) / len(b.IDs)
			for i := range b.IDs {
				alone := logitValues(t, m, Batch{IDs: b.IDs[i : i+1], TypeIDs: b.TypeIDs[i : i+1]})
				assert.InDeltaSlice(t, batched[i*labels:(i+1)*labels], alone, 1e-5, "sequence %d", i)
			}
		})
	}
}

// TestDebertaExportMergedReloads exports each checkpoint with merged adapters and reloads the
// export as a plain model: the same logits, and DeBERTa's own tensors (embed_proj without bias,
// rel_embeddings, pos_key_proj) and config keys kept.
func TestDebertaExportMergedReloads(t *testing.T) {
	for _, c := range debertaCases {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			ck, b := loadDeberta(t, c.dir), debertaBatch(t, c.dir)
			m := must(New(ck, Options{Adapter: hra.Config{R: 2}, Targets: c.targets}))
			perturb(m, 6)
			want := logitValues(t, m, b)
			dir := t.TempDir()
			require.NoError(t, m.ExportMerged(dir))
			exported := loadDeberta(t, dir)
			assert.Equal(t, ck.Config.Architecture(), exported.Config.Architecture())
			gotCfg, err := exported.Config.Deberta()
			require.NoError(t, err)
			wantCfg, err := ck.Config.Deberta()
			require.NoError(t, err)
			assert.Equal(t, wantCfg, gotCfg)
			assert.ElementsMatch(t, slices.Collect(maps.Keys(ck.Tensors)), slices.Collect(maps.Keys(exported.Tensors)))
			assert.InDeltaSlice(t, want, logitValues(t, must(New(exported, Options{})), b), 1e-5)
		})
	}
}

// TestDebertaEmbedProjBiasFrozen checks that the zero bias embed_proj runs with is never trained,
// whatever is.
func TestDebertaEmbedProjBiasFrozen(t *testing.T) {
	ck := loadDeberta(t, tinyDebertaProj)
	for _, opts := range []Options{{}, {FullFineTune: true}, {Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.Targets{Modules: []string{"embed_proj"}}}} {
		m := must(New(ck, opts))
		assert.False(t, m.Embeddings.Project.B.RequiresGrad())
		assert.NotContains(t, m.TrainableParams(), m.Embeddings.Project.B)
	}
}
