package bert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// methods are the adapter configurations every model test runs with, each at its identity init.
var methods = []struct {
	name   string
	config peft.Config
	// perTarget is the number of trainable values of one adapter on an in×out layer.
	perTarget func(in, out int) int
}{
	{"hra", hra.Config{R: 4}, func(in, _ int) int { return 4 * in }},
	{"lora", lora.Config{R: 4, Alpha: 8}, func(in, out int) int { return 4 * (in + out) }},
	{"oft", oft.Config{BlockSize: 8}, func(in, _ int) int { return in / 8 * 8 * 7 / 2 }},
}

// tinyBatch is a batch of tiny-bert token ids of three lengths, the second a sentence pair.
var tinyBatch = Batch{
	IDs:     [][]int{{2, 5, 8, 37, 20, 86, 3}, {2, 6, 23, 9, 3, 5, 14, 37, 3}, {2, 40, 3}},
	TypeIDs: [][]int{nil, {0, 0, 0, 0, 0, 1, 1, 1, 1}, nil},
}

func loadTinyBERT(t testing.TB) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.LoadDir(tinyBERT)
	require.NoError(t, err)
	return ck
}

func logitValues(t testing.TB, m *Model, b Batch) []float64 {
	t.Helper()
	y, err := m.Logits(b)
	require.NoError(t, err)
	return y.Value().Data().F64()
}

// perturb adds noise to every adapter parameter, so that the adapters are no longer the identity.
func perturb(m *Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, name := range m.adapterNames() {
		for _, p := range m.adapters[name].TrainableParams() {
			switch d := p.Matrix.(type) { // Data of a Dense shares its backing array
			case *mat.Dense[float32]:
				for i, data := 0, d.Data().F32(); i < len(data); i++ {
					data[i] += float32(0.3 * rng.NormFloat64())
				}
			case *mat.Dense[float64]:
				for i, data := 0, d.Data().F64(); i < len(data); i++ {
					data[i] += 0.3 * rng.NormFloat64()
				}
			}
		}
	}
}

func TestIdentityAdaptersKeepLogits(t *testing.T) {
	ck := loadTinyBERT(t)
	base, err := New(ck, Options{})
	require.NoError(t, err)
	want := logitValues(t, base, tinyBatch)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := New(ck, Options{Adapter: method.config, Targets: peft.DefaultBertTargets, Seed: 3})
			require.NoError(t, err)
			require.Len(t, m.Adapters(), 4)
			assert.InDeltaSlice(t, want, logitValues(t, m, tinyBatch), 1e-6)
			perturb(m, 1)
			assert.NotEqual(t, want, logitValues(t, m, tinyBatch), "adapters take no part in the forward pass")
		})
	}
}

func TestGradientsReachOnlyTrainableParams(t *testing.T) {
	ck := loadTinyBERT(t)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := New(ck, Options{Adapter: method.config, Targets: peft.DefaultBertTargets})
			require.NoError(t, err)
			y, err := m.Logits(tinyBatch)
			require.NoError(t, err)
			require.NoError(t, ag.Backward(projection(y, 1)))
			trainable := m.TrainableParams()
			for _, p := range trainable {
				assert.True(t, p.HasGrad(), "a trainable parameter got no gradient")
			}
			for _, mod := range m.modules {
				for _, p := range mod.params {
					if !slices.Contains(trainable, p) {
						assert.False(t, p.HasGrad(), "frozen %s got a gradient", mod.name)
						assert.False(t, p.RequiresGrad(), "%s is not frozen", mod.name)
					}
				}
			}
		})
	}
}

func TestNumParams(t *testing.T) {
	ck := loadTinyBERT(t)
	base := 0
	for _, tensor := range ck.Tensors {
		base += tensor.Numel()
	}
	const h, labels, layers = 32, 3, 2
	head := h*h + h + labels*h + labels
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := New(ck, Options{Adapter: method.config, Targets: peft.DefaultBertTargets})
			require.NoError(t, err)
			adapters := layers * 2 * method.perTarget(h, h)
			trainable, total := m.NumParams()
			assert.Equal(t, adapters+head, trainable)
			assert.Equal(t, base+adapters, total)
			assert.Equal(t, trainable, peft.CountParams(m.TrainableParams()))
		})
	}
	t.Run("head only", func(t *testing.T) {
		m, err := New(ck, Options{})
		require.NoError(t, err)
		trainable, total := m.NumParams()
		assert.Equal(t, labels*h+labels, trainable) // empty Targets: the classifier alone
		assert.Equal(t, base, total)
	})
	t.Run("full fine-tuning", func(t *testing.T) {
		m, err := New(ck, Options{FullFineTune: true})
		require.NoError(t, err)
		trainable, total := m.NumParams()
		assert.Equal(t, base, trainable)
		assert.Equal(t, base, total)
	})
	t.Run("default target modules", func(t *testing.T) {
		m, err := New(ck, Options{Adapter: hra.Config{R: 2}})
		require.NoError(t, err)
		assert.Equal(t, []string{"encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
			"encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"}, m.adapterNames())
		trainable, _ := m.NumParams()
		assert.Equal(t, layers*2*2*h+labels*h+labels, trainable)
	})
	t.Run("layers and modules to save", func(t *testing.T) {
		targets := peft.Targets{Modules: []string{"dense"}, LayersToTransform: []int{1}, ModulesToSave: []string{"LayerNorm"}}
		m, err := New(ck, Options{Adapter: hra.Config{R: 2}, Targets: targets})
		require.NoError(t, err)
		assert.Equal(t, []string{"encoder.layer.1.attention.output.dense", "encoder.layer.1.intermediate.dense",
			"encoder.layer.1.output.dense"}, m.adapterNames())
		trainable, _ := m.NumParams()
		norms := (1 + 2*layers) * 2 * h
		assert.Equal(t, 2*(h+64+h)+norms+labels*h+labels, trainable)
	})
}

func TestNewErrors(t *testing.T) {
	ck := loadTinyBERT(t)
	tests := []struct {
		name string
		opts Options
		err  error
		msg  string
	}{
		{"unknown target", Options{Adapter: hra.Config{R: 2}, Targets: peft.Targets{Modules: []string{"q_proj"}}},
			peft.ErrUnknownTarget, "attention.self.query"},
		{"unknown module to save", Options{Targets: peft.Targets{ModulesToSave: []string{"score"}}},
			peft.ErrUnknownTarget, `"score"`},
		{"layer beyond the model", Options{Adapter: hra.Config{R: 2}, Targets: peft.Targets{Modules: []string{"query"}, LayersToTransform: []int{2}}},
			peft.ErrUnknownTarget, "layer 2"},
		{"invalid adapter", Options{Adapter: hra.Config{R: 3}, Targets: peft.DefaultBertTargets}, peft.ErrInvalidConfig, "odd"},
		{"adapter wider than the layer", Options{Adapter: hra.Config{R: 34}, Targets: peft.DefaultBertTargets}, peft.ErrInvalidConfig, "query"},
		{"adapted and saved", Options{Adapter: hra.Config{R: 2}, Targets: peft.Targets{Modules: []string{"query"}, ModulesToSave: []string{"encoder"}}},
			peft.ErrInvalidConfig, "every targeted module is in modules_to_save"},
		{"full fine-tuning with adapter", Options{Adapter: hra.Config{R: 2}, FullFineTune: true}, peft.ErrInvalidConfig, "FullFineTune"},
		{"negative labels", Options{NumLabels: -1}, peft.ErrInvalidConfig, "NumLabels"},
		{"dropout 1", Options{HiddenDropout: 1}, peft.ErrInvalidConfig, "HiddenDropout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ck, tt.opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	broken := &checkpoint.Checkpoint{Config: ck.Config, Tensors: map[string]*checkpoint.Tensor{}}
	_, err := New(broken, Options{})
	assert.ErrorIs(t, err, checkpoint.ErrNotFound)
}

func TestInvalidInput(t *testing.T) {
	m, err := New(loadTinyBERT(t), Options{})
	require.NoError(t, err)
	long := make([]int, 33) // max_position_embeddings is 32
	tests := []struct {
		name  string
		batch Batch
		msg   string
	}{
		{"empty batch", Batch{}, "empty batch"},
		{"empty sequence", Batch{IDs: [][]int{{2, 3}, {}}}, "sequence 1 is empty"},
		{"too long", Batch{IDs: [][]int{long}}, "33 tokens"},
		{"id beyond vocabulary", Batch{IDs: [][]int{{2, 98, 3}}}, "id 98"},
		{"negative id", Batch{IDs: [][]int{{2, -1, 3}}}, "id -1"},
		{"token type beyond vocabulary", Batch{IDs: [][]int{{2, 3}}, TypeIDs: [][]int{{0, 2}}}, "token type 2"},
		{"token types of another length", Batch{IDs: [][]int{{2, 3}}, TypeIDs: [][]int{{0}}}, "1 token type ids"},
		{"token types for fewer sequences", Batch{IDs: [][]int{{2, 3}, {2, 3}}, TypeIDs: [][]int{{0, 0}}}, "2 sequences but 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Logits(tt.batch)
			assert.ErrorIs(t, err, ErrInvalidInput)
			assert.ErrorContains(t, err, tt.msg)
			_, _, err = m.Encode(tt.batch)
			assert.ErrorIs(t, err, ErrInvalidInput)
		})
	}
	_, err = m.Logits(Batch{IDs: [][]int{long[:32]}})
	assert.NoError(t, err, "a sequence of max_position_embeddings tokens fits")
}

func TestMergeKeepsLogits(t *testing.T) {
	ck := loadTinyBERT(t)
	base := logitValues(t, must(New(ck, Options{})), tinyBatch)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := New(ck, Options{Adapter: method.config, Targets: peft.Targets{Modules: []string{"query", "value", "dense"}}})
			require.NoError(t, err)
			perturb(m, 2)
			want := logitValues(t, m, tinyBatch)
			require.Greater(t, maxDiff(want, base), 1e-3)
			require.NoError(t, m.Merge())
			assert.ErrorIs(t, m.Merge(), peft.ErrMerged)
			assert.InDeltaSlice(t, want, logitValues(t, m, tinyBatch), 1e-4)
			require.NoError(t, m.Unmerge())
			assert.ErrorIs(t, m.Unmerge(), peft.ErrMerged)
			assert.InDeltaSlice(t, want, logitValues(t, m, tinyBatch), 1e-4)
		})
	}
}

func TestHead(t *testing.T) {
	ck := loadTinyBERT(t)
	t.Run("from the checkpoint", func(t *testing.T) {
		m := must(New(ck, Options{}))
		assert.Equal(t, ck.Tensors["classifier.weight"].Data, m.Classifier.W.Value().Data().F32())
		assert.Equal(t, 3, m.NumLabels())
	})
	t.Run("new classifier of another size", func(t *testing.T) {
		m := must(New(ck, Options{NumLabels: 2, Seed: 7}))
		assert.Equal(t, []int{2, 32}, m.Classifier.W.Shape())
		assert.Equal(t, m.Classifier.W.Value().Data().F32(), must(New(ck, Options{NumLabels: 2, Seed: 7})).Classifier.W.Value().Data().F32())
		assert.NotEqual(t, m.Classifier.W.Value().Data().F32(), must(New(ck, Options{NumLabels: 2, Seed: 8})).Classifier.W.Value().Data().F32())
		assert.Len(t, logitValues(t, m, tinyBatch), 3*2)
	})
	t.Run("no pooler", func(t *testing.T) {
		tensors := map[string]*checkpoint.Tensor{}
		for name, tensor := range ck.Tensors {
			if name != "pooler.dense.weight" && name != "pooler.dense.bias" {
				tensors[name] = tensor
			}
		}
		m := must(New(&checkpoint.Checkpoint{Config: ck.Config, Tensors: tensors}, Options{}))
		w := m.Pooler.W.Value().Data().F32()
		var sq float64
		for _, v := range w {
			sq += float64(v * v)
		}
		assert.InDelta(t, initializerRange, math.Sqrt(sq/float64(len(w))), 0.003) // N(0, 0.02²)
	})
}

func TestDropout(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2, Dropout: 0.5}, Targets: peft.DefaultBertTargets, HiddenDropout: 0.1}))
	eval := logitValues(t, m, tinyBatch)
	m.SetTraining(true)
	assert.Greater(t, maxDiff(eval, logitValues(t, m, tinyBatch)), 1e-4)
	m.SetTraining(false)
	assert.Equal(t, eval, logitValues(t, m, tinyBatch))
}

func TestRegularization(t *testing.T) {
	ck := loadTinyBERT(t)
	assert.Nil(t, must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.DefaultBertTargets})).Regularization())
	m := must(New(ck, Options{Adapter: hra.Config{R: 2, Init: hra.RandomInit, Lambda: 1e-3}, Targets: peft.DefaultBertTargets}))
	var want float64
	for _, a := range m.Adapters() {
		want += a.Regularization().Item().F64()
	}
	assert.InDelta(t, want, m.Regularization().Item().F64(), 1e-6)
}

// TestGradientsFloat64 checks the gradients of the whole model by finite differences, in float64,
// with respect to the parameters of the first layer's query adapter and to some weights that only
// full fine-tuning trains.
func TestGradientsFloat64(t *testing.T) {
	ck := loadTinyBERT(t)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := newModel[float64](ck, Options{Adapter: method.config, Targets: peft.DefaultBertTargets})
			require.NoError(t, err)
			perturb(m, 4)
			var inputs []*mat.Dense[float64]
			for _, p := range m.Adapters()["encoder.layer.0.attention.self.query"].TrainableParams() {
				inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
			}
			loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(tinyBatch)), 5) }
			gradcheck.Check(t, loss, 1e-5, inputs...)
		})
	}
	t.Run("full fine-tuning", func(t *testing.T) {
		m, err := newModel[float64](ck, Options{FullFineTune: true})
		require.NoError(t, err)
		inputs := dense64(m.Embeddings.TokenType, m.Embeddings.Norm.Weight, m.Layers[0].AttentionNorm.Bias, m.Layers[1].Value.B)
		loss := func() mat.Tensor { return gradcheck.Projection(must(m.Logits(tinyBatch)), 6) }
		gradcheck.Check(t, loss, 1e-5, inputs...)
	})
}

// projection returns Σ y⊙R for a fixed random R of y's element type, as gradcheck.Projection
// does in float64.
func projection(y mat.Tensor, seed uint64) mat.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0))
	r := make([]float64, y.Value().Size())
	for i := range r {
		r[i] = rng.Float64()*2 - 1
	}
	w := y.Value().(mat.Matrix).NewMatrix(mat.WithShape(y.Value().Shape()...))
	w.SetData(float.Make(r...))
	return ag.Dot(y, w)
}

func dense64(ps ...*nn.Param) []*mat.Dense[float64] {
	var ds []*mat.Dense[float64]
	for _, p := range ps {
		ds = append(ds, p.Matrix.(*mat.Dense[float64]))
	}
	return ds
}

func TestActivations(t *testing.T) {
	ck := loadTinyBERT(t)
	want := logitValues(t, must(New(ck, Options{})), tinyBatch)
	for _, act := range []string{checkpoint.ActivationGELUNew, checkpoint.ActivationGELUTanh, checkpoint.ActivationReLU} {
		other := *ck
		other.Config.HiddenAct = act
		got := logitValues(t, must(New(&other, Options{})), tinyBatch)
		d := maxDiff(want, got)
		// The tanh approximation is close to the exact GELU; ReLU is not.
		if act == checkpoint.ActivationReLU {
			assert.Greater(t, d, 1e-3, act)
		} else {
			assert.True(t, d > 0 && d < 1e-2, "%s: logits differ by %g", act, d)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func maxDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d = max(d, abs(a[i]-b[i]))
	}
	return d
}

// TestConcurrentLogits runs forward and backward passes on several goroutines at once, as the
// trainer's workers do; run it with -race.
func TestConcurrentLogits(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2, Dropout: 0.1}, Targets: peft.DefaultBertTargets, HiddenDropout: 0.1}))
	m.SetTraining(true)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			y, err := m.Logits(tinyBatch)
			if err == nil {
				err = ag.Backward(projection(y, 1))
			}
			errs <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}
