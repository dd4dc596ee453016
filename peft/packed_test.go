package peft_test

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/gemm"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/spago-peft/spago-peft/peft/oft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergeRepacksFrozenBase multiplies by each adapter's frozen base weight, so that gemm keeps
// its packing, then merges and unmerges the adapter, which rewrite the weight in place, and
// checks after each that the base layer's product uses the new values: it equals, bit for bit,
// the product with a copy of the weight that was never packed.
func TestMergeRepacksFrozenBase(t *testing.T) {
	const in, out, n = 96, 80, 32
	random := func(rng *rand.Rand, p mat.Matrix) {
		d := make([]float64, p.Size())
		for i := range d {
			d[i] = (rng.Float64()*2 - 1) * 0.3
		}
		p.SetData(float.Make(d...))
	}
	type adapter interface {
		Merge() error
		Unmerge() error
	}
	adapters := []struct {
		name string
		make func(rng *rand.Rand, base *linear.Model) (adapter, error)
	}{
		{"lora", func(rng *rand.Rand, base *linear.Model) (adapter, error) {
			m, err := lora.New(base, lora.Config{R: 4, Alpha: 8}, rng)
			if err == nil {
				random(rng, m.B)
			}
			return m, err
		}},
		{"hra", func(rng *rand.Rand, base *linear.Model) (adapter, error) {
			return hra.New(base, hra.Config{R: 4, Init: hra.RandomInit}, rng)
		}},
		{"oft", func(rng *rand.Rand, base *linear.Model) (adapter, error) {
			m, err := oft.New(base, oft.Config{R: 12, Eps: 6e-5}, rng)
			if err == nil {
				random(rng, m.R)
			}
			return m, err
		}},
	}
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 31))
			base := adaptertest.Layer[float32](rng, in, out)
			m, err := a.make(rng, base)
			require.NoError(t, err)
			require.False(t, base.W.RequiresGrad(), "the base weight is frozen")
			x := adaptertest.Rows[float32](rng, n, in)
			product := func() []float32 { return op.Linear(x, base.W, base.B).Value().Data().F32() }
			unpacked := func() []float32 {
				w := op.NewDense(out, in, append([]float32(nil), mat.Data[float32](base.W.Value())...))
				return op.Linear(x, w, base.B).Value().Data().F32()
			}
			before := gemm.Stats()
			original := product()
			assert.Equal(t, original, product())
			require.Greater(t, gemm.Stats().Hits, before.Hits, "the second product reuses the packing")

			require.NoError(t, m.Merge())
			merged := product()
			assert.Equal(t, unpacked(), merged, "after Merge")
			assert.NotEqual(t, original, merged, "Merge changed the weight")
			require.NoError(t, m.Unmerge())
			assert.Equal(t, unpacked(), product(), "after Unmerge")
		})
	}
}
