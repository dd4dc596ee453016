package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spago-peft/spago-peft/internal/op"
)

// sometimesModel is a bagModel with one more parameter, which gets a gradient (from a penalty)
// only in odd steps: AdamW must skip it in the others, with gradients kept or not.
type sometimesModel struct {
	*bagModel[float32]
	Odd   *nn.Param
	steps int
}

func (m *sometimesModel) TrainableParams() []*nn.Param {
	return append(m.bagModel.TrainableParams(), m.Odd)
}

func (m *sometimesModel) Regularization() mat.Tensor {
	m.steps++
	if m.steps%2 == 0 {
		return nil
	}
	return ag.ProdScalar(ag.Dot(m.Odd, m.Odd), mat.Scalar(float32(0.1)))
}

// TestKeptGradients checks that keeping the gradient buffers across steps (reset to −0) changes
// nothing: the same losses, gradient norms and parameters, bit for bit, as dropping them after
// every step, with weight decay on, a parameter that never gets a gradient and one that gets
// one every other step (AdamW skips it, without decay or a step counted, in the others); and
// that Fit leaves no gradient behind.
func TestKeptGradients(t *testing.T) {
	trainSet := separableTask(48, 4, 6, 3)
	run := func(keep bool) (*sometimesModel, History) {
		defer SetKeepGradients(SetKeepGradients(keep))
		m := &sometimesModel{bagModel: newBagModel[float32](14, 8, 2, 5)}
		odd := mat.NewDense[float32](mat.WithShape(2, 3), mat.WithBacking([]float32{0.5, -0.25, 1, 0.75, -1, 0.125}))
		m.Odd = nn.NewParam(odd)
		h, err := Fit(context.Background(), m, trainSet, Options{
			Steps: 9, BatchSize: 8, LR: 1e-2, WeightDecay: 0.1, Seed: 2, Workers: 2, MaxGradNorm: 0.5,
		})
		require.NoError(t, err)
		for i, p := range m.TrainableParams() {
			assert.False(t, p.HasGrad(), "param %d keeps a gradient after Fit", i)
		}
		return m, h
	}
	kept, hKept := run(true)
	dropped, hDropped := run(false)
	require.Len(t, hKept.Steps, 9)
	for i := range hKept.Steps {
		assert.Equal(t, hDropped.Steps[i].Loss, hKept.Steps[i].Loss, "step %d loss", i+1)
		assert.Equal(t, hDropped.Steps[i].GradNorm, hKept.Steps[i].GradNorm, "step %d gradient norm", i+1)
	}
	for i, p := range kept.TrainableParams() {
		assert.Equal(t, op.Values[float32](dropped.TrainableParams()[i]), op.Values[float32](p), "param %d", i)
	}
	assert.Equal(t, op.Values[float32](newBagModel[float32](14, 8, 2, 5).Unused), op.Values[float32](kept.Unused), "a parameter without gradients is never decayed")
}

// TestDropUntouched checks the −0 test: a buffer still −0 everywhere is dropped, one with a
// single +0 (a contribution of +0 onto −0) or any other value is kept.
func TestDropUntouched(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, c := range []struct {
		name  string
		grad  []float32
		keeps bool
	}{
		{"all −0", []float32{negZero, negZero, negZero}, false},
		{"one +0", []float32{negZero, 0, negZero}, true},
		{"a value", []float32{negZero, negZero, 1e-30}, true},
	} {
		p := nn.NewParam(mat.NewDense[float32](mat.WithShape(3)))
		p.AccGrad(mat.NewDense[float32](mat.WithShape(3), mat.WithBacking(c.grad)))
		dropUntouched([]*nn.Param{p})
		assert.Equal(t, c.keeps, p.HasGrad(), c.name)
	}
}

// TestAdamResetKernel checks the fused update (clipping factor, AdamW, gradient reset to −0) in
// its vector and Go forms against clipping by scaleInPlace and then adamUpdate32, bit for bit,
// over lengths around multiples of 8.
func TestAdamResetKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 43))
	random := func(n int, scale float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * scale)
		}
		return x
	}
	negZero := math.Float32bits(float32(math.Copysign(0, -1)))
	for _, n := range []int{1, 7, 8, 9, 17, 1000} {
		for _, scale := range []float64{1, 0.3712345678} {
			w, g, m, v := random(n, 1), random(n, 0.1), random(n, 0.01), random(n, 0.001)
			for i := range v {
				v[i] *= v[i]
			}
			c := newAdamConsts(1e-2, 0.01, 3)
			want := [][]float32{slices.Clone(w), slices.Clone(g), slices.Clone(m), slices.Clone(v)}
			scaleInPlace(want[1], scale)
			adamUpdate32(want[0], want[1], want[2], want[3], &c)
			for name, kernel := range map[string]func(w, g, m, v []float32, c *adamConsts, scale float64){
				"vector": adamKernelReset, "go": adamUpdate32Reset,
			} {
				got := [][]float32{slices.Clone(w), slices.Clone(g), slices.Clone(m), slices.Clone(v)}
				kernel(got[0], got[1], got[2], got[3], &c, scale)
				for k, label := range []string{"w", "g", "m", "v"} {
					for i := range got[k] {
						wantBits := math.Float32bits(want[k][i])
						if label == "g" {
							wantBits = negZero
						}
						if math.Float32bits(got[k][i]) != wantBits {
							t.Fatalf("%s, n=%d, scale %v: %s[%d] is %v, want %v", name, n, scale, label, i, got[k][i], math.Float32frombits(wantBits))
						}
					}
				}
			}
		}
	}
}
