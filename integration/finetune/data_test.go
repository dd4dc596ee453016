package finetune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSample(t *testing.T) {
	train, dev, err := Sample()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(train), 400)
	assert.GreaterOrEqual(t, len(dev), 100)
	assert.Equal(t, 2, dataset.NumLabels(train))
	seen := map[string]bool{}
	for _, e := range slices.Concat(train, dev) {
		assert.False(t, seen[e.Text], "duplicate sentence %q", e.Text)
		seen[e.Text] = true
	}
}

func TestReadDataSources(t *testing.T) {
	dir := t.TempDir()
	rows := []string{"sentence\tlabel"}
	for i := range 20 {
		rows = append(rows, string(rune('a'+i))+" film\t"+string(rune('0'+i%2)))
	}
	single := writeTSV(t, dir, "all.tsv", rows...)
	devFile := writeTSV(t, dir, "other-dev.tsv", "sentence\tlabel", "x\t1", "y\t0")
	glue := filepath.Join(dir, "glue")
	require.NoError(t, mkdir(glue))
	writeTSV(t, glue, "train.tsv", rows[:11]...)
	writeTSV(t, glue, "dev.tsv", "sentence\tlabel", "z\t1")

	tests := []struct {
		name                string
		job                 Job
		nTrain, nDev        int
		trainSrc, devSource string
	}{
		{"sample", Job{}, 520, 128, "embedded sample/train.tsv", "embedded sample/dev.tsv"},
		{"glue dir", Job{Data: glue}, 10, 1, filepath.Join(glue, "train.tsv"), filepath.Join(glue, "dev.tsv")},
		{"single file", Job{Data: single}, 18, 2, single + " (the rest)", single + " (10% held out)"},
		{"single file, quarter", Job{Data: single, DevFraction: 0.25}, 15, 5, single + " (the rest)", single + " (25% held out)"},
		{"train and dev files", Job{Data: single, DevData: devFile}, 20, 2, single, devFile},
		{"limits", Job{Data: single, DevData: devFile, TrainLimit: 7, DevLimit: 1}, 7, 1, single + ", 7 drawn", devFile + ", 1 drawn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := readData(tt.job)
			require.NoError(t, err)
			assert.Len(t, d.train, tt.nTrain)
			assert.Len(t, d.dev, tt.nDev)
			assert.Equal(t, tt.trainSrc, d.trainSource)
			assert.Equal(t, tt.devSource, d.devSource)
		})
	}
}

func TestReadDataSplitIsSeededAndDisjoint(t *testing.T) {
	dir := t.TempDir()
	rows := []string{"sentence\tlabel"}
	for i := range 50 {
		rows = append(rows, "sentence number "+string(rune('A'+i))+"\t1")
	}
	file := writeTSV(t, dir, "all.tsv", rows...)
	a, err := readData(Job{Data: file, Seed: 7})
	require.NoError(t, err)
	b, err := readData(Job{Data: file, Seed: 7})
	require.NoError(t, err)
	c, err := readData(Job{Data: file, Seed: 8})
	require.NoError(t, err)
	assert.Equal(t, a.dev, b.dev, "same seed, same split")
	assert.NotEqual(t, a.dev, c.dev, "another seed, another split")
	texts := map[string]bool{}
	for _, e := range slices.Concat(a.train, a.dev) {
		assert.False(t, texts[e.Text], "%q in both sets", e.Text)
		texts[e.Text] = true
	}
	assert.Len(t, texts, 50)
}

// Bad data fails in Prepare with an error naming the file and the line.
func TestPrepareDataErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTSV(t, dir, "good.tsv", "sentence\tlabel", "fine\t1", "bad\t0")
	tests := []struct {
		name  string
		lines []string
		job   Job
		want  error
		where string
	}{
		{"no tab", []string{"sentence\tlabel", "good\t1", "no tab here"}, Job{}, dataset.ErrMalformed, ":3:"},
		{"label not an integer", []string{"sentence\tlabel", "good\tpositive"}, Job{}, dataset.ErrMalformed, ":2:"},
		{"empty sentence", []string{"sentence\tlabel", "good\t1", "", " \t0"}, Job{}, dataset.ErrMalformed, ":4:"},
		{"more labels than the head", []string{"sentence\tlabel", "", "a\t1", "", "b\t2"}, Job{NumLabels: 2}, dataset.ErrLabelRange, ":5:"},
		{"a label leaving classes without rows", []string{"sentence\tlabel", "a\t1", "b\t1000", "c\t0"}, Job{}, dataset.ErrLabelRange,
			":3: label 1000, but no row has label 2: labels must number the classes 0, 1, 2, …"},
		{"a label beyond the reader's limit", []string{"sentence\tlabel", "a\t100000000000"}, Job{}, dataset.ErrMalformed, ":2: label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeTSV(t, dir, "bad.tsv", tt.lines...)
			job := tt.job
			job.Data, job.DevData = file, good
			_, err := Prepare(context.Background(), job)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
			assert.Contains(t, err.Error(), file+tt.where)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := Prepare(context.Background(), Job{Data: filepath.Join(dir, "nope.tsv")})
		assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
		assert.Equal(t, "dataset: data file "+filepath.Join(dir, "nope.tsv")+" does not exist", err.Error())
	})
	t.Run("declared classes", func(t *testing.T) {
		sparse := writeTSV(t, dir, "sparse.tsv", "sentence\tlabel", "a\t0", "b\t4")
		s, err := Prepare(context.Background(), Job{Data: sparse, DevData: sparse, NumLabels: 5})
		require.NoError(t, err, "classes without rows are fine when declared")
		assert.Equal(t, 5, s.NumLabels)
		for _, n := range []int{1, -1, dataset.MaxLabels + 1, 100000000000} {
			_, err := Prepare(context.Background(), Job{Data: sparse, DevData: sparse, NumLabels: n})
			assert.ErrorIs(t, err, ErrInvalidJob, "%d classes", n)
			assert.ErrorContains(t, err, fmt.Sprintf("%d classes, want 0 (from the data) or 2 to 10000", n))
		}
	})
	t.Run("dev file beside a data directory", func(t *testing.T) {
		glue := t.TempDir()
		writeTSV(t, glue, dataset.TrainFile, "sentence\tlabel", "a\t0", "b\t1")
		s, err := Prepare(context.Background(), Job{Data: glue, DevData: good})
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(glue, dataset.TrainFile), s.TrainSource)
		assert.Equal(t, good, s.DevSource)
	})
	t.Run("dev label beyond a checkpoint's classifier", func(t *testing.T) {
		// tiny-bert has a 3-class classifier.
		dev := writeTSV(t, dir, "dev3.tsv", "sentence\tlabel", "a\t0", "b\t3")
		_, err := Prepare(context.Background(), Job{Model: "../checkpoint/testdata/tiny-bert", Data: good, DevData: dev})
		assert.True(t, errors.Is(err, dataset.ErrLabelRange), "%v", err)
		assert.Contains(t, err.Error(), dev+":3:")
	})
	t.Run("missing model directory", func(t *testing.T) {
		_, err := Prepare(context.Background(), Job{Model: "./no-such-model"})
		assert.True(t, errors.Is(err, checkpoint.ErrNotFound), "%v", err)
	})
	t.Run("max length beyond the positions", func(t *testing.T) {
		_, err := Prepare(context.Background(), Job{MaxLen: 4096})
		assert.True(t, errors.Is(err, ErrInvalidJob), "%v", err)
	})
}
