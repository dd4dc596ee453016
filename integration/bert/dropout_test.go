package bert

import (
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withKeys returns the sequences of tinyBatch at idx, keyed by keys.
func withKeys(idx []int, keys ...uint64) Batch {
	var b Batch
	for _, i := range idx {
		b.IDs = append(b.IDs, tinyBatch.IDs[i])
		b.TypeIDs = append(b.TypeIDs, tinyBatch.TypeIDs[i])
	}
	b.DropoutKeys = keys
	return b
}

// TestDropoutKeys checks that a sequence's key fixes its hidden and attention dropout masks,
// whatever the rest of its batch: a trainer's workers, however they split a batch, draw the same
// masks.
func TestDropoutKeys(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.DefaultBertTargets, HiddenDropout: 0.2, AttentionDropout: 0.2, Seed: 3}))
	m.SetTraining(true)
	all := logitValues(t, m, withKeys([]int{0, 1, 2}, 10, 11, 12))
	assert.Equal(t, all, logitValues(t, m, withKeys([]int{0, 1, 2}, 10, 11, 12)), "the same keys, the same masks")
	assert.Greater(t, maxDiff(all, logitValues(t, m, withKeys([]int{0, 1, 2}, 20, 21, 22))), 1e-3, "other keys, other masks")
	labels := len(all) / 3
	parts := []struct {
		idx  []int
		keys []uint64
	}{
		{[]int{0}, []uint64{10}},
		{[]int{2, 1}, []uint64{12, 11}},
		{[]int{1, 2}, []uint64{11, 12}},
	}
	for _, p := range parts {
		got := logitValues(t, m, withKeys(p.idx, p.keys...))
		for j, i := range p.idx {
			assert.InDeltaSlice(t, all[i*labels:(i+1)*labels], got[j*labels:(j+1)*labels], 1e-5, "sequence %d in batch %v", i, p.idx)
		}
	}
	other := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.DefaultBertTargets, HiddenDropout: 0.2, AttentionDropout: 0.2, Seed: 4}))
	other.SetTraining(true)
	assert.Greater(t, maxDiff(all, logitValues(t, other, withKeys([]int{0, 1, 2}, 10, 11, 12))), 1e-3, "the seed draws the masks too")
}

// TestDropoutWithoutKeys checks the generator that keys batches without DropoutKeys: the same
// seed, the same sequence of masks.
func TestDropoutWithoutKeys(t *testing.T) {
	ck := loadTinyBERT(t)
	run := func() [][]float64 {
		m := must(New(ck, Options{HiddenDropout: 0.2, AttentionDropout: 0.2, Seed: 3}))
		m.SetTraining(true)
		return [][]float64{logitValues(t, m, tinyBatch), logitValues(t, m, tinyBatch)}
	}
	first := run()
	assert.Greater(t, maxDiff(first[0], first[1]), 1e-3, "each call draws new masks")
	assert.Equal(t, first, run())
}

func TestDropoutKeysInvalid(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{HiddenDropout: 0.1}))
	for _, training := range []bool{false, true} {
		m.SetTraining(training)
		_, err := m.Logits(withKeys([]int{0, 1}, 1))
		require.ErrorIs(t, err, ErrInvalidInput)
		assert.Contains(t, err.Error(), "1 dropout keys for 2 sequences")
	}
}

// TestGradientsWithDropout checks the gradients through hidden and attention dropout by finite
// differences: with keys, every forward draws the same masks.
func TestGradientsWithDropout(t *testing.T) {
	ck := loadTinyBERT(t)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := newModel[float64](ck, Options{Adapter: method.config, Targets: peft.DefaultBertTargets, HiddenDropout: 0.2, AttentionDropout: 0.2})
			require.NoError(t, err)
			perturb(m, 4)
			m.SetTraining(true)
			var inputs []*mat.Dense[float64]
			for _, p := range m.Adapters()["encoder.layer.0.attention.self.value"].TrainableParams() {
				inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
			}
			b := withKeys([]int{0, 1, 2}, 5, 6, 7)
			loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(b)), 5) }
			gradcheck.Check(t, loss, 1e-5, inputs...)
		})
	}
}
