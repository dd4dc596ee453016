package lora

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/adaptertest"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unfused is the update as a composition of spago operators, which ForwardRows fuses.
func (m *Model) unfused(x mat.Tensor) mat.Tensor {
	y := op.Linear(x, m.Base.W, m.Base.B)
	xd := x
	if mask := m.inputMask(x, nil); mask != nil {
		xd = ag.Prod(x, mask)
	}
	h := op.MatMul(xd, m.A, true)
	h = ag.ProdScalar(h, h.Value().(mat.Matrix).NewScalar(m.Config.Scale()))
	return ag.Add(y, op.MatMul(h, m.B, true))
}

// TestFusedMatchesUnfused checks float32 values and gradients of the fused operator bit for bit
// against the composition, with and without dropout, and with a trainable base.
func TestFusedMatchesUnfused(t *testing.T) {
	const in, out, n = 48, 40, 7
	for _, tc := range []struct {
		name      string
		c         Config
		trainBase bool
	}{
		{"plain", Config{R: 8, Alpha: 16}, false},
		{"dropout", Config{R: 8, Alpha: 16, Dropout: 0.3}, false},
		{"trainable base", Config{R: 4, Alpha: 3, UseRSLoRA: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(20, 20))
			m := newTrained[float32](t, rng, in, out, tc.c)
			m.SetTraining(true)
			m.Base.W.SetRequiresGrad(tc.trainBase)
			m.Base.B.SetRequiresGrad(tc.trainBase)
			x := adaptertest.Rows[float32](rng, n, in)
			x.SetRequiresGrad(true)
			upstream := adaptertest.Rows[float32](rng, n, out)
			params := []*mat.Dense[float32]{x, m.A.Value().(*mat.Dense[float32]), m.B.Value().(*mat.Dense[float32])}
			if tc.trainBase {
				params = append(params, m.Base.W.Value().(*mat.Dense[float32]), m.Base.B.Value().(*mat.Dense[float32]))
			}
			run := func(forward func(mat.Tensor) mat.Tensor) (y []float32, grads [][]float32) {
				m.maskRNG = rand.New(rand.NewPCG(21, 21))
				for _, p := range params {
					p.ZeroGrad()
				}
				node := forward(x)
				node.AccGrad(upstream)
				require.NoError(t, ag.Backward(node))
				for _, p := range params {
					grads = append(grads, p.Grad().Data().F32())
				}
				return node.Value().Data().F32(), grads
			}
			y, grads := run(m.ForwardRows)
			wantY, wantGrads := run(m.unfused)
			assert.Equal(t, wantY, y)
			assert.Equal(t, wantGrads, grads)
		})
	}
}
