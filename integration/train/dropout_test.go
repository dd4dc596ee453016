package train_test

import (
	"context"
	"slices"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFitWithDropoutRepeats trains with dropout: hidden and attention dropout, and LoRA's own
// lora_dropout alone. Each example's masks, the adapters' included, are keyed by its place in the
// run, so repeated runs agree bit for bit on two workers, and runs on 1, 2 and 4 workers, which
// split every batch differently, draw the same masks and agree to rounding. With masks drawn from
// one generator in the order the workers ask (the encoder's before, LoRA's own before), 1 and 2
// workers drew different masks and their curves differed beyond rounding.
func TestFitWithDropoutRepeats(t *testing.T) {
	ck, err := checkpoint.LoadDir(tinyBERT)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts bert.Options
	}{
		{"hidden and attention", bert.Options{Adapter: hra.Config{R: 4, Lambda: 1e-4}, HiddenDropout: 0.2, AttentionDropout: 0.2}},
		{"lora_dropout", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8, Dropout: 0.3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(workers int) ([]float64, []float32) {
				opts := tc.opts
				opts.Targets, opts.NumLabels, opts.Seed = peft.DefaultBertTargets, 2, 5
				m, err := bert.New(ck, opts)
				require.NoError(t, err)
				return fitTrace(t, m, workers)
			}
			l2, p2 := run(2)
			again, pAgain := run(2)
			assert.Equal(t, l2, again, "two workers, repeated: loss curve")
			assert.Equal(t, p2, pAgain, "two workers, repeated: parameters")
			for _, workers := range []int{1, 4} {
				l, p := run(workers)
				assert.InDeltaSlice(t, l2, l, 1e-5, "workers %d: loss curve", workers)
				for i := range p2 {
					assert.InDelta(t, p2[i], p[i], 1e-5, "workers %d: parameter value %d", workers, i)
				}
			}
		})
	}
}

// fitTrace trains m for 12 steps of 8 examples of the keyword task on workers goroutines and
// returns the loss of every step and the trained parameters' values.
func fitTrace(t *testing.T, m *bert.Model, workers int) ([]float64, []float32) {
	t.Helper()
	h, err := train.Fit(context.Background(), m, keywordTask(64, 4), train.Options{
		Steps: 12, BatchSize: 8, LR: 1e-2, WarmupRatio: 0.25, Seed: 9, Workers: workers,
	})
	require.NoError(t, err)
	losses := make([]float64, len(h.Steps))
	for i, s := range h.Steps {
		losses[i] = s.Loss
	}
	return losses, slices.Concat(snapshot(m.TrainableParams())...)
}
