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

// TestBatchSplitSameBits checks that splitting a batch among cores in evaluation mode changes
// no bit of Logits, TokenLogits or Encode, on every architecture, and that gradients still flow
// through the parts.
func TestBatchSplitSameBits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three parts, whatever the machine
	type model struct {
		name  string
		ck    func(t *testing.T) *checkpoint.Checkpoint
		batch func(t *testing.T) Batch
	}
	models := []model{{"bert", func(t *testing.T) *checkpoint.Checkpoint { return loadTinyBERT(t) }, func(*testing.T) Batch { return tinyBatch }}}
	for _, arch := range family {
		models = append(models, model{arch.modelType,
			func(t *testing.T) *checkpoint.Checkpoint { ck, _, _ := loadFamily(t, arch.modelType); return ck },
			func(t *testing.T) Batch { _, _, b := loadFamily(t, arch.modelType); return b }})
	}
	for _, dir := range []string{tinyDebertaV3, tinyDebertaProj} {
		models = append(models, model{dir,
			func(t *testing.T) *checkpoint.Checkpoint { return loadDeberta(t, dir) },
			func(t *testing.T) Batch { return debertaBatch(t, dir) }})
	}
	for _, c := range models {
		t.Run(c.name, func(t *testing.T) {
			ck, b := c.ck(t), c.batch(t)
			require.GreaterOrEqual(t, len(b.IDs), 2)
			for _, method := range []struct {
				name string
				opts Options
			}{
				{"full", Options{FullFineTune: true}},
				{"hra", Options{Adapter: hra.Config{R: 2, Init: hra.RandomInit}}}, // default targets
				{"lora", Options{Adapter: lora.Config{R: 2, Alpha: 4}}},
				{"oft", Options{Adapter: oft.Config{BlockSize: 4}}},
			} {
				t.Run(method.name, func(t *testing.T) { checkBatchSplit(t, ck, b, method.opts) })
			}
		})
	}
}

// checkBatchSplit is TestBatchSplitSameBits for one model.
func checkBatchSplit(t *testing.T, ck *checkpoint.Checkpoint, b Batch, opts Options) {
	m, err := New(ck, opts)
	require.NoError(t, err)
	perturb(m, 5)
	run := func(split bool) (logits, tokens []float32, grads [][]float32) {
		defer SetBatchSplit(SetBatchSplit(split))
		y, err := m.Logits(b)
		require.NoError(t, err)
		hidden, pooled, err := m.Encode(b)
		require.NoError(t, err)
		tokens = append(tokens, pooled.Value().Data().F32()...)
		for _, h := range hidden {
			tokens = append(tokens, h.Value().Data().F32()...)
		}
		for _, p := range m.TrainableParams() {
			p.ZeroGrad()
		}
		require.NoError(t, ag.Backward(projection(y, 3)))
		for _, p := range m.TrainableParams() {
			require.NotNil(t, p.Grad(), "a trainable parameter has no gradient")
			grads = append(grads, append([]float32(nil), p.Grad().Data().F32()...))
		}
		return y.Value().Data().F32(), tokens, grads
	}
	logits, tokens, grads := run(false)
	splitLogits, splitTokens, splitGrads := run(true)
	assert.Equal(t, logits, splitLogits)
	assert.Equal(t, tokens, splitTokens)
	require.Len(t, splitGrads, len(grads))
	for i := range grads {
		assert.InDeltaSlice(t, toF64(grads[i]), toF64(splitGrads[i]), 1e-5)
	}
}

func toF64(xs []float32) []float64 {
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = float64(x)
	}
	return ys
}

var _ mat.Tensor // keeps mat imported for projection's signature
