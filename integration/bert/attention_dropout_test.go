package bert

import (
	"testing"

	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAttentionDropout(t *testing.T) {
	ck := loadTinyBERT(t)
	m := must(New(ck, Options{Adapter: lora.Config{R: 2, Alpha: 2}, Targets: peft.DefaultBertTargets, AttentionDropout: 0.2}))
	eval := logitValues(t, m, tinyBatch)
	m.SetTraining(true)
	assert.Greater(t, maxDiff(eval, logitValues(t, m, tinyBatch)), 1e-4, "attention dropout changes training logits")
	m.SetTraining(false)
	assert.Equal(t, eval, logitValues(t, m, tinyBatch), "and leaves evaluation alone")
}

func TestAttentionDropoutInvalid(t *testing.T) {
	ck := loadTinyBERT(t)
	for _, p := range []float64{-0.1, 1} {
		_, err := New(ck, Options{AttentionDropout: p})
		require.Error(t, err)
		assert.ErrorIs(t, err, peft.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "AttentionDropout")
	}
}
