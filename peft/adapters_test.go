package peft_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/gradcheck"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adapterKind is one row of the battery every adapter method passes through the shared interface;
// a new method adds a row.
type adapterKind struct {
	name string
	cfg  peft.Config
	// identity reports whether the adapted layer equals the base layer at init.
	identity bool
	// params is the number of trainable values for a layer with in inputs and out outputs.
	params func(in, out int) int
}

// kinds is every adapter configuration under test. The layer is 24 inputs × 10 outputs.
var kinds = []adapterKind{
	{"hra", hra.Config{R: 4}, true, func(in, _ int) int { return 4 * in }},
	{"hra-random", hra.Config{R: 3, Init: hra.RandomInit, Lambda: 0.1}, false, func(in, _ int) int { return 3 * in }},
	{"hra-gs", hra.Config{R: 4, Init: hra.RandomInit, GS: true}, false, func(in, _ int) int { return 4 * in }},
	{"lora", lora.Config{R: 4, Alpha: 8}, true, func(in, out int) int { return 4 * (in + out) }},
	{"lora-rs-gaussian", lora.Config{R: 3, Alpha: 8, UseRSLoRA: true, Init: lora.GaussianInit, Dropout: 0.1}, true, func(in, out int) int { return 3 * (in + out) }},
	{"oft", oft.Config{BlockSize: 6}, true, func(in, _ int) int { return in / 6 * (6 * 5 / 2) }},
	{"oft-blocks-neumann", oft.Config{R: 3, UseCayleyNeumann: true, NumCayleyNeumannTerms: 5}, true, func(in, _ int) int { return 3 * (8 * 7 / 2) }},
	// COFT projects the parameters into a ball before each forward, as PEFT does, so the loss is
	// differentiable only inside it: a radius of 100 keeps the gradient check meaningful.
	{"oft-shared-coft", oft.Config{BlockSize: 8, BlockShare: true, COFT: true, Eps: 100}, true, func(int, int) int { return 8 * 7 / 2 }},
}

const layerIn, layerOut = 24, 10

func TestEveryAdapter(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			require.NoError(t, k.cfg.Validate())
			rng := rand.New(rand.NewPCG(1, 2))
			base := adaptertest.Layer[float32](rng, layerIn, layerOut)
			w0 := append([]float32(nil), base.W.Data().F32()...)
			x := adaptertest.Rows[float32](rng, 7, layerIn)
			want := op.Linear(x, base.W, base.B).Value().Data().F64()

			a, err := k.cfg.New(base, rng)
			require.NoError(t, err)
			assert.Same(t, base, a.BaseLayer())
			assert.Equal(t, k.params(layerIn, layerOut), peft.CountParams(a.TrainableParams()), "trainable parameters")
			a.SetTraining(false)
			got := a.ForwardRows(x).Value().Data().F64()
			if k.identity {
				assert.Equal(t, want, got, "identity at init, bit for bit")
			}

			// The base is frozen: a backward pass reaches only the adapter's parameters.
			y := a.ForwardRows(x)
			y.AccGrad(y.Value().(mat.Matrix).OnesLike())
			require.NoError(t, ag.Backward(y))
			assert.False(t, base.W.HasGrad() || base.B.HasGrad(), "base received a gradient")
			for _, p := range a.TrainableParams() {
				p.ZeroGrad()
			}

			// Column tokens and row-stacked tokens agree.
			var xs []mat.Tensor
			for i := 0; i < 7; i++ {
				xs = append(xs, x.ExtractRow(i).T())
			}
			for i, yi := range a.Forward(xs...) {
				assert.InDeltaSlice(t, got[i*layerOut:(i+1)*layerOut], yi.Value().Data().F64(), 1e-6)
			}

			// Merge gives the same outputs through the base layer alone; unmerge restores W.
			require.NoError(t, a.Validate())
			require.NoError(t, a.Merge())
			merged := a.ForwardRows(x).Value().Data().F64()
			assert.LessOrEqual(t, adaptertest.MaxAbsDiff(got, merged), 1e-5, "merged vs unmerged")
			assert.Equal(t, op.Linear(x, base.W, base.B).Value().Data().F64(), merged)
			assert.ErrorIs(t, a.Merge(), peft.ErrMerged)
			require.NoError(t, a.Unmerge())
			assert.LessOrEqual(t, adaptertest.MaxAbsDiff(float.SliceValueOf[float64](float.Make(w0...)), base.W.Data().F64()), 1e-5, "unmerge restores W")

			// NaN parameters are reported, not used.
			p := a.TrainableParams()[0].Data().F32()
			p[0] = float32(math.NaN())
			assert.ErrorIs(t, a.Validate(), peft.ErrInvalidParams)
		})
	}
}

func TestEveryAdapterGradients(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			a, err := k.cfg.New(adaptertest.Layer[float64](rng, layerIn, layerOut), rng)
			require.NoError(t, err)
			a.SetTraining(false)
			// Move every parameter off its init so that no gradient is trivially zero.
			inputs := []*mat.Dense[float64]{}
			for _, p := range a.TrainableParams() {
				d := p.Data().F64()
				for i := range d {
					d[i] += 0.1 * (rng.Float64()*2 - 1)
				}
				inputs = append(inputs, p.Matrix.(*mat.Dense[float64]))
			}
			x := gradcheck.Random(rng, 3, layerIn)
			loss := func() mat.Tensor {
				l := gradcheck.Projection(a.ForwardRows(x), 5)
				if r := a.Regularization(); r != nil {
					l = ag.Add(l, r)
				}
				return l
			}
			gradcheck.Check(t, loss, 1e-6, append(inputs, x)...)
		})
	}
}
