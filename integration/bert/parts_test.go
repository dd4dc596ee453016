package bert

import (
	"runtime"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBalancedCuts(t *testing.T) {
	for _, c := range []struct {
		lengths []int
		k       int
		want    []int
	}{
		{[]int{32, 32, 32, 32, 32, 32, 32, 32}, 2, []int{0, 4, 8}},
		{[]int{5, 5, 5}, 3, []int{0, 1, 2, 3}},
		{[]int{100, 1, 1, 1}, 2, []int{0, 1, 4}},
		{[]int{1, 1, 1, 100}, 2, []int{0, 3, 4}},
		{[]int{1, 1, 1, 100}, 3, []int{0, 2, 3, 4}},
		{[]int{7, 9}, 2, []int{0, 1, 2}},
		{[]int{3, 3, 3, 3, 3}, 2, []int{0, 3, 5}},
	} {
		assert.Equal(t, c.want, balancedCuts(c.lengths, c.k), "%v in %d", c.lengths, c.k)
	}
}

// shortcut is a switch of the forward pass that must not change its results.
type shortcut struct {
	name string
	set  func(on bool) (was bool)
}

var shortcuts = []shortcut{
	{"batch-split", SetBatchSplit},
	{"row-split", SetRowSplit},
	{"first-tokens", SetFirstTokensOnly},
}

// setShortcuts switches every shortcut and returns a function that restores them.
func setShortcuts(on bool) (restore func()) {
	was := make([]bool, len(shortcuts))
	for i, s := range shortcuts {
		was[i] = s.set(on)
	}
	return func() {
		for i, s := range shortcuts {
			s.set(was[i])
		}
	}
}

// familyModel is a tiny checkpoint of one architecture with a batch of several sequences.
type familyModel struct {
	name  string
	ck    *checkpoint.Checkpoint
	batch Batch
}

// bertFamily returns tiny BERT and the other members of the family but DeBERTa.
func bertFamily(t *testing.T) []familyModel {
	models := []familyModel{{"bert", loadTinyBERT(t), tinyBatch}}
	for _, arch := range family {
		ck, _, b := loadFamily(t, arch.modelType)
		models = append(models, familyModel{arch.modelType, ck, b})
	}
	return models
}

// familyModels returns every architecture's tiny checkpoint, DeBERTa's two included.
func familyModels(t *testing.T) []familyModel {
	models := bertFamily(t)
	for _, dir := range []string{tinyDebertaV3, tinyDebertaProj} {
		models = append(models, familyModel{dir, loadDeberta(t, dir), debertaBatch(t, dir)})
	}
	return models
}

// longSequence returns one sequence of n tokens made of b's: a batch the row split takes.
func longSequence(b Batch, n int) Batch {
	var ids, types []int
	for len(ids) < n {
		for s, seq := range b.IDs {
			ids = append(ids, seq...)
			if b.TypeIDs != nil && b.TypeIDs[s] != nil {
				types = append(types, b.TypeIDs[s]...)
			} else {
				types = append(types, make([]int, len(seq))...)
			}
		}
	}
	out := Batch{IDs: [][]int{ids[:n]}, DropoutKeys: []uint64{77}}
	if b.TypeIDs != nil {
		out.TypeIDs = [][]int{types[:n]}
	}
	return out
}

// TestShortcutsSameBits checks that the forward pass's shortcuts (a batch split among cores, a
// lone sequence's rows split among them, the last layer for the first tokens only) change no bit
// of Logits, TokenLogits' rows or Encode, in evaluation and in training (hidden dropout), on
// every architecture and method, nor the dropout sites DropoutSiteHook reports; gradients still
// flow, and agree to rounding.
func TestShortcutsSameBits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three parts, whatever the machine
	methods := []struct {
		name string
		opts Options
	}{
		{"full", Options{FullFineTune: true}},
		{"head", Options{}},
		{"hra", Options{Adapter: hra.Config{R: 2, Init: hra.RandomInit}}}, // default targets
		{"lora", Options{Adapter: lora.Config{R: 2, Alpha: 4}}},
		{"lora-dropout", Options{Adapter: lora.Config{R: 2, Alpha: 4, Dropout: 0.2}}}, // no shortcut in training
		{"oft", Options{Adapter: oft.Config{BlockSize: 4}}},
	}
	for _, c := range familyModels(t) {
		b := c.batch
		b.DropoutKeys = make([]uint64, len(b.IDs))
		for i := range b.DropoutKeys {
			b.DropoutKeys[i] = uint64(10 + i)
		}
		batches := map[string]Batch{"batch": b, "long": longSequence(b, 24)}
		for _, method := range methods {
			for _, training := range []bool{false, true} {
				for bname, batch := range batches {
					name := c.name + "/" + method.name + "/" + bname + "/eval"
					if training {
						name = c.name + "/" + method.name + "/" + bname + "/train"
					}
					t.Run(name, func(t *testing.T) {
						opts := method.opts
						opts.HiddenDropout = 0.1
						m, err := New(c.ck, opts)
						require.NoError(t, err)
						perturb(m, 5)
						m.SetTraining(training)
						defer setShortcuts(false)()
						want := forwardRecord(t, m, batch)
						for _, s := range append(shortcuts, shortcut{"all", setEveryShortcut}) {
							s.set(true)
							got := forwardRecord(t, m, batch)
							s.set(false)
							assert.Equal(t, want.logits, got.logits, "%s: logits", s.name)
							assert.Equal(t, want.hidden, got.hidden, "%s: Encode", s.name)
							assert.Equal(t, want.sites, got.sites, "%s: dropout sites", s.name)
							require.Len(t, got.grads, len(want.grads))
							for i := range want.grads {
								assert.InDeltaSlice(t, toF64(want.grads[i]), toF64(got.grads[i]), 1e-5, "%s: gradient %d", s.name, i)
							}
						}
					})
				}
			}
		}
	}
}

// setEveryShortcut switches every shortcut at once; it reports the first's previous setting.
func setEveryShortcut(on bool) (was bool) {
	for i, s := range shortcuts {
		if w := s.set(on); i == 0 {
			was = w
		}
	}
	return was
}

// record is what TestShortcutsSameBits compares of a forward pass.
type record struct {
	logits, hidden []float32
	grads          [][]float32
	sites          []siteRecord
}

// siteRecord is a dropout site as DropoutSiteHook reports it, with its first draws.
type siteRecord struct {
	index int
	kind  string
	sizes []int
	draws [4]float64
}

func forwardRecord(t *testing.T, m *Model, b Batch) record {
	t.Helper()
	var r record
	DropoutSiteHook = func(s DropoutSite) {
		rec := siteRecord{index: s.Index, kind: s.Kind, sizes: s.Sizes}
		for i := range rec.draws {
			rec.draws[i] = s.Rand.Float64()
		}
		r.sites = append(r.sites, rec)
	}
	defer func() { DropoutSiteHook = nil }()
	y, err := m.Logits(b)
	require.NoError(t, err)
	r.logits = y.Value().Data().F32()
	if !m.training {
		hidden, pooled, err := m.Encode(b)
		require.NoError(t, err)
		r.hidden = encodedValues(hidden, pooled)
	}
	r.grads = gradients(t, m, y)
	require.Len(t, r.grads, len(m.TrainableParams()), "a trainable parameter has no gradient")
	return r
}

// encodedValues returns a copy of Encode's pooled output, then of each hidden state, in one slice.
func encodedValues(hidden []mat.Tensor, pooled mat.Tensor) []float32 {
	values := append([]float32(nil), pooled.Value().Data().F32()...)
	for _, h := range hidden {
		values = append(values, h.Value().Data().F32()...)
	}
	return values
}

// gradients runs the backward pass of a fixed projection of y from zeroed gradients and returns
// copies of those of m's trainable parameters that got one, in order (a merged adapter's
// weights get none).
func gradients(t *testing.T, m *Model, y mat.Tensor) [][]float32 {
	t.Helper()
	for _, p := range m.TrainableParams() {
		p.ZeroGrad()
	}
	require.NoError(t, ag.Backward(projection(y, 3)))
	var grads [][]float32
	for _, p := range m.TrainableParams() {
		if p.HasGrad() {
			grads = append(grads, append([]float32(nil), p.Grad().Data().F32()...))
		}
	}
	return grads
}

func toF64(xs []float32) []float64 {
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = float64(x)
	}
	return ys
}

// TestShortcutsApply checks where the shortcuts apply: the batch split to several sequences in
// evaluation; the row split to a lone sequence in evaluation, and in training with hidden
// dropout alone in at most two parts; the last layer for the first tokens only in evaluation
// and in training with hidden dropout alone; none of them to DeBERTa but the batch split.
func TestShortcutsApply(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	ck := loadTinyBERT(t)
	long := longSequence(tinyBatch, 24)
	for _, c := range []struct {
		name     string
		opts     Options
		training bool
		want     int
	}{
		{"eval", Options{AttentionDropout: 0.1}, false, 3},
		{"hidden dropout", Options{HiddenDropout: 0.1}, true, 2},
		{"attention dropout", Options{AttentionDropout: 0.1}, true, 1},
		{"lora dropout", Options{Adapter: lora.Config{R: 2, Alpha: 4, Dropout: 0.1}}, true, 1},
	} {
		m, err := New(ck, c.opts)
		require.NoError(t, err)
		m.SetTraining(c.training)
		p, err := m.pack(long)
		require.NoError(t, err)
		assert.Equal(t, c.want, m.rowParts(p), c.name)
		assert.Nil(t, m.batchCuts(p), c.name+": one sequence")
		assert.Equal(t, c.want > 1, m.firstOnly(), c.name)
		p, err = m.pack(tinyBatch)
		require.NoError(t, err)
		assert.Equal(t, 1, m.rowParts(p), c.name+", several sequences")
		if c.training {
			assert.Nil(t, m.batchCuts(p), c.name+", several sequences")
		} else {
			assert.Equal(t, []int{0, 1, 2, 3}, m.batchCuts(p), c.name+", several sequences")
		}
	}
	m, err := New(loadDeberta(t, tinyDebertaV3), Options{})
	require.NoError(t, err)
	p, err := m.pack(longSequence(debertaBatch(t, tinyDebertaV3), 24))
	require.NoError(t, err)
	assert.Equal(t, 1, m.rowParts(p), "DeBERTa")
	assert.False(t, m.firstOnly(), "DeBERTa")
	p, err = m.pack(debertaBatch(t, tinyDebertaV3))
	require.NoError(t, err)
	assert.NotNil(t, m.batchCuts(p), "DeBERTa, several sequences")
	defer setShortcuts(false)()
	m, err = New(ck, Options{})
	require.NoError(t, err)
	p, err = m.pack(tinyBatch)
	require.NoError(t, err)
	assert.Nil(t, m.batchCuts(p), "switched off")
	assert.False(t, m.firstOnly(), "switched off")
	p, err = m.pack(long)
	require.NoError(t, err)
	assert.Equal(t, 1, m.rowParts(p), "switched off")
}
