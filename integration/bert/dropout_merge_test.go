package bert

import (
	"testing"

	"github.com/spago-peft/spago-peft/peft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergeKeepsLogitsWithDropout checks that an adapter's forward pass meets the same dropout
// masks as the merged weights do: with dropout on and the same keys, unmerged and merged models
// give the same logits, so no adapter adds, moves or skips a dropout site.
func TestMergeKeepsLogitsWithDropout(t *testing.T) {
	ck := loadTinyBERT(t)
	for _, method := range methods {
		t.Run(method.name, func(t *testing.T) {
			m, err := New(ck, Options{Adapter: method.config, Targets: peft.Targets{Modules: []string{"query", "key", "value", "dense"}}, HiddenDropout: 0.3, AttentionDropout: 0.3})
			require.NoError(t, err)
			perturb(m, 2)
			m.SetTraining(true)
			b := tinyBatch
			b.DropoutKeys = []uint64{5, 6, 7}
			want := logitValues(t, m, b)
			require.NoError(t, m.Merge())
			got := logitValues(t, m, b)
			m.SetTraining(false)
			require.Greater(t, maxDiff(want, logitValues(t, m, b)), 1e-3, "dropout had no effect")
			assert.InDeltaSlice(t, want, got, 1e-4)
		})
	}
}
