package finetune

import (
	"context"
	"errors"
	"testing"

	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A model name that is not a local directory is downloaded from the hub (a local test server
// here) into the cache, then used from the cache.
func TestPrepareDownloadsFromHub(t *testing.T) {
	srv, requests := hubServer(t, "test-org/tiny-bert", "../checkpoint/testdata/tiny-bert")
	data := writeTSV(t, t.TempDir(), "data.tsv", "sentence\tlabel", "a fine film\t2", "a film\t1", "a bad film\t0", "an ok film\t1")
	var files []string
	job := Job{
		Model: "test-org/tiny-bert", Data: data, MaxLen: 16,
		Download: checkpoint.DownloadOptions{Endpoint: srv.URL, CacheDir: t.TempDir(),
			Progress: func(file string, done, total int64) {
				if done == total {
					files = append(files, file)
				}
			}},
	}
	s, err := Prepare(context.Background(), job)
	require.NoError(t, err)
	assert.Equal(t, 3, s.NumLabels, "tiny-bert's classifier has 3 classes")
	assert.Contains(t, files, checkpoint.ConfigFile)
	assert.Contains(t, files, checkpoint.VocabFile)
	assert.Equal(t, "test-org/tiny-bert", s.BaseModel)
	assert.Contains(t, s.BaseDescription, "test-org/tiny-bert (2 layers, hidden 32")

	n := requests.Load()
	_, err = Prepare(context.Background(), job)
	require.NoError(t, err)
	assert.Equal(t, n, requests.Load(), "the second load comes from the cache")

	job.Model = "test-org/missing"
	_, err = Prepare(context.Background(), job)
	assert.True(t, errors.Is(err, checkpoint.ErrNotFound), "%v", err)
}
