package finetune

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A few steps on the sample: the result is consistent, and the saved adapter reloads onto the
// default base and predicts what the trained model predicts.
func TestRunSaveLoadPredict(t *testing.T) {
	var steps, evals int
	var loads []string
	res, err := Run(context.Background(), Job{
		Adapter: hra.Config{R: 8}, Steps: 6, BatchSize: 8, EvalEvery: 3, DevLimit: 40, Seed: 3, Dropout: 0.1,
		OnStep: func(train.StepInfo) { steps++ }, OnEval: func(train.EvalInfo) { evals++ },
		OnLoad: func(msg string) { loads = append(loads, msg) },
	})
	require.NoError(t, err)
	assert.Equal(t, 6, steps)
	assert.Equal(t, 2, evals)
	assert.Len(t, loads, 3)
	assert.Equal(t, 6, res.Steps)
	assert.Equal(t, "hra r=8", res.Method)
	assert.True(t, res.RandomBase)
	assert.Equal(t, DefaultBaseName, res.BaseModel)
	assert.Equal(t, 40, res.Dev.Examples)
	assert.Positive(t, res.PeakHeapBytes)
	assert.Positive(t, res.StepTime)
	assert.GreaterOrEqual(t, res.TrainTime, res.StepTime*time.Duration(res.Steps))
	// 2 layers × (query, value) × 128×8 reflection vectors, plus pooler and classifier.
	assert.Equal(t, 4*128*8+128*128+128+2*128+2, res.Trainable)
	assert.Equal(t, res.Total-4*128*8, res.Base)
	assert.InDelta(t, 100*float64(res.Trainable)/float64(res.Base), res.PercentOfBase(), 1e-12)

	dir := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, res.SaveAdapter(dir))
	require.NoError(t, res.SaveAdapter(dir), "saving over an existing adapter")
	loaded, tok, base, err := LoadAdapter(context.Background(), dir, "", checkpoint.DownloadOptions{})
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseName, base)
	texts := []string{"a warm and funny film", "dull, lifeless and far too long", "zzz"}
	want, err := Predict(res.Model, res.Tokenizer, texts, 0)
	require.NoError(t, err)
	got, err := Predict(loaded, tok, texts, 0)
	require.NoError(t, err)
	for i := range texts {
		assert.Equal(t, want[i].Label, got[i].Label, texts[i])
		assert.InDeltaSlice(t, want[i].Probs, got[i].Probs, 1e-6, texts[i])
		assert.InDelta(t, 1, got[i].Probs[0]+got[i].Probs[1], 1e-9)
	}
}

// One Setup trains several methods; each starts from the same base weights.
func TestSetupTrainsSeveralMethods(t *testing.T) {
	s, err := Prepare(context.Background(), Job{TrainLimit: 64, DevLimit: 16})
	require.NoError(t, err)
	before := s.Checkpoint.Tensors["encoder.layer.0.attention.self.query.weight"].Data[0]
	counts := map[string]int{}
	for _, kind := range Kinds {
		adapter, full, err := Method{Kind: kind}.Adapter()
		require.NoError(t, err)
		res, err := s.Train(context.Background(), Job{Adapter: adapter, FullFineTune: full, Steps: 2, BatchSize: 8, Seed: 1})
		require.NoError(t, err, kind)
		counts[kind] = res.Trainable
		if full {
			assert.Equal(t, res.Base, res.Trainable)
			assert.Equal(t, res.Total, res.Base)
		}
	}
	assert.Equal(t, before, s.Checkpoint.Tensors["encoder.layer.0.attention.self.query.weight"].Data[0], "full fine-tuning changed the shared base")
	head := counts[KindHead]
	assert.Equal(t, head+4*128*8, counts[KindHRA])
	assert.Equal(t, head+4*(8*128+128*8), counts[KindLoRA])
	assert.Equal(t, head+4*4*(32*31/2), counts[KindOFT])
}

func TestTrainErrors(t *testing.T) {
	s, err := Prepare(context.Background(), Job{TrainLimit: 16, DevLimit: 8})
	require.NoError(t, err)
	tests := []struct {
		name string
		job  Job
		want error
	}{
		{"negative batch", Job{BatchSize: -1}, ErrInvalidJob},
		{"adapter and full", Job{Adapter: hra.Config{R: 2}, FullFineTune: true}, ErrInvalidJob},
		{"unknown target", Job{Adapter: hra.Config{R: 2}, Targets: ParseTargets("qeury")}, peft.ErrUnknownTarget},
		{"too many reflections", Job{Adapter: hra.Config{R: 130}}, peft.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Train(context.Background(), tt.job)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
		})
	}
	t.Run("diverging", func(t *testing.T) {
		var last train.StepInfo
		_, err := s.Train(context.Background(), Job{Adapter: hra.Config{R: 2}, LR: 1e30, Steps: 50, BatchSize: 4,
			OnStep: func(info train.StepInfo) { last = info }})
		require.ErrorIs(t, err, ErrDiverged)
		assert.Less(t, last.Step, 50, "stopped early")
		assert.Contains(t, err.Error(), "lower the learning rate")
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Train(ctx, Job{Steps: 3})
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// Encode spreads the work over goroutines and gives what train.Encode gives.
func TestEncodeMatchesTrainEncode(t *testing.T) {
	_, tok, err := DefaultBase()
	require.NoError(t, err)
	sample, _, err := Sample()
	require.NoError(t, err)
	var many []dataset.Example
	for range 6 {
		many = append(many, sample...)
	}
	assert.Equal(t, train.Encode(tok, many, 12), Encode(tok, many, 12))
}

// The shared SST-2 data and the sst-bert-tiny checkpoint load, with a reduced training set.
func TestPrepareSST2(t *testing.T) {
	model := requireShared(t, "models/sst-bert-tiny")
	data := requireShared(t, "data/sst2")
	s, err := Prepare(context.Background(), Job{Model: model, Data: data, TrainLimit: 1000, MaxLen: 64})
	require.NoError(t, err)
	assert.Len(t, s.TrainSet, 1000)
	assert.Len(t, s.DevSet, 872)
	assert.Equal(t, 2, s.NumLabels)
	assert.False(t, s.RandomBase)
	for _, e := range s.DevSet {
		assert.LessOrEqual(t, len(e.IDs), 64)
	}
}
