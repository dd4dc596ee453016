package bert

import (
	"runtime"
	"testing"

	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecyclingSameBits checks that recycling the buffers of dead nodes (op.SetRecycling)
// changes no bit of Logits, Encode's hidden states and pooled output or TokenLogits, on every
// architecture, for a batch of several sequences and a lone long one, with the shortcuts on
// (parts of a batch or of a sequence on goroutines of their own) and off, in evaluation with a
// trainable head, a merged adapter and an unmerged one (whose trainable weights make every node
// of the layers require gradients: only the embeddings' are recycled then); that gradients
// still agree (to rounding, as in TestShortcutsSameBits); and that values returned earlier stay
// as they were while later passes reuse buffers.
func TestRecyclingSameBits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three parts, whatever the machine
	defer op.SetRecycling(op.SetRecycling(true))
	methods := []struct {
		name     string
		opts     Options
		merge    bool
		recycles bool // whether the passes recycle any node of the layers
	}{
		{"head", Options{}, false, true},
		{"lora-merged", Options{Adapter: lora.Config{R: 2, Alpha: 4}}, true, true},
		{"lora", Options{Adapter: lora.Config{R: 2, Alpha: 4}}, false, false},
		{"tokens", Options{TokenClassification: true}, false, true},
	}
	var keyed []familyModel // batches with dropout keys, for training
	for _, c := range familyModels(t) {
		c.batch.DropoutKeys = make([]uint64, len(c.batch.IDs))
		for i := range c.batch.DropoutKeys {
			c.batch.DropoutKeys[i] = uint64(10 + i)
		}
		keyed = append(keyed, c)
	}
	for _, c := range keyed {
		batches := map[string]Batch{"batch": c.batch, "long": longSequence(c.batch, 24)}
		for _, method := range methods {
			for bname, batch := range batches {
				for _, mode := range []string{"eval", "no-shortcuts", "train"} {
					t.Run(c.name+"/"+method.name+"/"+bname+"/"+mode, func(t *testing.T) {
						opts := method.opts
						opts.HiddenDropout = 0.1
						m, err := New(c.ck, opts)
						require.NoError(t, err)
						perturb(m, 5)
						if method.merge {
							require.NoError(t, m.Merge())
						}
						m.SetTraining(mode == "train")
						shortcuts := mode != "no-shortcuts"
						defer setShortcuts(shortcuts)()
						op.SetRecycling(false)
						want := recyclingRecord(t, m, batch)
						op.SetRecycling(true)
						before, embeddings := recycledNodes.Load(), recycledEmbeddingNodes.Load()
						first := recyclingRecord(t, m, batch)
						again := recyclingRecord(t, m, batch) // with the first pass's buffers
						assert.Equal(t, method.recycles, recycledNodes.Load() > before, "any node of the layers recycled")
						assert.Greater(t, recycledEmbeddingNodes.Load(), embeddings, "embeddings' nodes recycled")
						for _, got := range []record{first, again} {
							assert.Equal(t, want.logits, got.logits, "logits")
							assert.Equal(t, want.hidden, got.hidden, "Encode")
							require.Len(t, got.grads, len(want.grads))
							for i := range want.grads {
								// to rounding: spago sums a weight's gradients from several
								// parts of a batch in the order they arrive, either way
								assert.InDeltaSlice(t, toF64(want.grads[i]), toF64(got.grads[i]), 1e-5, "gradient %d", i)
							}
						}
					})
				}
			}
		}
	}
}

// recyclingRecord runs Logits (or TokenLogits) and Encode on b, then the backward pass of the
// logits, and checks after each later call that the values returned before it are unchanged.
func recyclingRecord(t *testing.T, m *Model, b Batch) record {
	t.Helper()
	var r record
	logits := m.Logits
	if m.TokenClassification() {
		logits = m.TokenLogits
	}
	y, err := logits(b)
	require.NoError(t, err)
	r.logits = append([]float32(nil), y.Value().Data().F32()...)
	hidden, pooled, err := m.Encode(b)
	require.NoError(t, err)
	r.hidden = encodedValues(hidden, pooled)
	r.grads = gradients(t, m, y)
	// Later passes take the recycled buffers: the earlier ones' values stay.
	_, err = logits(b)
	require.NoError(t, err)
	_, _, err = m.Encode(b)
	require.NoError(t, err)
	assert.Equal(t, r.logits, y.Value().Data().F32(), "logits returned earlier")
	assert.Equal(t, r.hidden, encodedValues(hidden, pooled), "Encode's values returned earlier")
	return r
}
