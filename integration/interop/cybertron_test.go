package interop

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	cyberbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	textclassification "github.com/nlpodyssey/cybertron/pkg/tasks/textclassification/bert"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cybertronGELUTolerance bounds the difference between cybertron's logits and ours that comes
// from cybertron computing "gelu" as spago's tanh approximation rather than BERT's exact GELU.
const cybertronGELUTolerance = 2e-3

// TestCybertronRunsTheExport loads the merged export of Go adapters (pooler adapters included)
// with cybertron's own code, as its users run BERT, and checks its logits against ours: to 1e-4
// for the same model with the tanh GELU cybertron computes, so every weight sits where cybertron
// reads it; and within cybertron's GELU approximation of the exact model. Cybertron's
// textclassification loader, with its own tokenizer, gives the same class probabilities.
func TestCybertronRunsTheExport(t *testing.T) {
	ck := loadCheckpoint(t, tinyDir)
	tok := tinyTokenizer(t)
	sentences := readSentences(t)
	for _, name := range []string{"hra-paired-query-value", "lora-gaussian-dense-pooler", "oft-exact-dense-pooler"} {
		t.Run(name, func(t *testing.T) {
			m, err := bert.LoadAdapter(ck, filepath.Join("testdata/go-to-peft", name, "adapter"))
			require.NoError(t, err)
			dir := t.TempDir()
			require.NoError(t, m.ExportCybertron(dir, filepath.Join(tinyDir, checkpoint.VocabFile), filepath.Join(tinyDir, checkpoint.TokenizerConfigFile)))

			cyber, err := nn.LoadFromFile[*cyberbert.ModelForSequenceClassification](filepath.Join(dir, checkpoint.SpagoFile))
			require.NoError(t, err)
			exported := loadCheckpoint(t, dir) // model.safetensors, as transformers reads it
			exported.Config.HiddenAct = checkpoint.ActivationGELUTanh
			tanhModel, err := bert.New(exported, bert.Options{})
			require.NoError(t, err)

			classifier, err := textclassification.LoadTextClassification(dir)
			require.NoError(t, err)
			worstTanh, worstExact := 0.0, 0.0
			for _, s := range sentences {
				enc := tok.Encode(s, 32)
				got := cyber.Classify(enc.Tokens).Value().Data().F64()
				b := bert.Batch{IDs: [][]int{enc.IDs}}
				worstTanh = max(worstTanh, maxDiff(t, logitsOf(t, tanhModel, b), [][]float64{got}))
				exact := logitsOf(t, m, b)
				worstExact = max(worstExact, maxDiff(t, exact, [][]float64{got}))

				res, err := classifier.Classify(context.Background(), s)
				require.NoError(t, err)
				probs := softmax(got)
				for i, label := range res.Labels {
					id := exported.Config.Label2ID[label]
					assert.InDelta(t, probs[id], res.Scores[i], tolerance, "%q: probability of %s", s, label)
				}
			}
			t.Logf("cybertron vs Go: max |Δlogit| %.2g with the same (tanh) GELU, %.2g against BERT's exact GELU", worstTanh, worstExact)
			assert.LessOrEqual(t, worstTanh, tolerance)
			assert.LessOrEqual(t, worstExact, cybertronGELUTolerance)
		})
	}
}

func softmax(x []float64) []float64 {
	top := x[0]
	for _, v := range x {
		top = max(top, v)
	}
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.Exp(v - top)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
