package train

import (
	"errors"
	"math"
	"testing"

	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exported AdamW, with its LR set per step by the schedule, matches torch.optim.AdamW +
// LambdaLR + clip_grad_norm_ step by step, and clears the gradients.
func TestExportedAdamWMatchesPyTorch(t *testing.T) {
	for _, c := range readFixtures(t).AdamW {
		t.Run(c.Name, func(t *testing.T) {
			params := make([]*nn.Param, len(c.Shapes))
			for i, s := range c.Shapes {
				params[i] = newParam64(s, c.Initial[i])
			}
			opt, err := NewAdamW(params, c.LR, c.WeightDecay)
			require.NoError(t, err)
			opt.MaxGradNorm = c.MaxNorm
			for step := range c.Total {
				for i, g := range c.Grads[step] {
					if g != nil {
						setGrad(params[i], g)
					}
				}
				opt.LR = c.LR * linearSchedule(step, c.Warmup, c.Total)
				norm, err := opt.Step()
				require.NoError(t, err)
				assert.InDelta(t, c.Norms[step], norm, 1e-12, "step %d: gradient norm", step+1)
				for i, p := range params {
					assert.False(t, p.HasGrad(), "step %d: gradient of param %d not cleared", step+1, i)
					assert.InDeltaSlice(t, c.Values[step][i], op.Values[float64](p), 1e-12, "step %d, param %d", step+1, i)
				}
			}
		})
	}
}

func TestNewAdamWErrors(t *testing.T) {
	p := newParam64([]int{2}, []float64{1, 2})
	for _, tt := range []struct {
		name    string
		params  []*nn.Param
		lr, wd  float64
		wantErr bool
	}{
		{"ok", []*nn.Param{p}, 1e-3, 0.01, false},
		{"none", nil, 1e-3, 0, true},
		{"nil", []*nn.Param{nil}, 1e-3, 0, true},
		{"twice", []*nn.Param{p, p}, 1e-3, 0, true},
		{"negative lr", []*nn.Param{p}, -1, 0, true},
		{"NaN decay", []*nn.Param{p}, 1e-3, math.NaN(), true},
	} {
		_, err := NewAdamW(tt.params, tt.lr, tt.wd)
		assert.Equal(t, tt.wantErr, errors.Is(err, ErrInvalidOptions), "%s: %v", tt.name, err)
	}
}

func TestAdamWStepRefusesNonFinite(t *testing.T) {
	p := newParam64([]int{2}, []float64{1, 2})
	opt, err := NewAdamW([]*nn.Param{p}, 0.1, 0)
	require.NoError(t, err)
	setGrad(p, []float64{math.Inf(1), 0})
	_, err = opt.Step()
	assert.ErrorIs(t, err, ErrNonFinite)
	assert.Equal(t, []float64{1, 2}, op.Values[float64](p), "parameters unchanged")
	assert.False(t, p.HasGrad())
}
