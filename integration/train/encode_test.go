package train_test

import (
	"testing"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodePairs checks that a pair becomes [CLS] a [SEP] b [SEP] with token types 0 then 1, cut
// longest first, and that regression scores are kept.
func TestEncodePairs(t *testing.T) {
	tok, err := tokenizer.FromDir(tinyBERT)
	require.NoError(t, err)
	got := train.Encode(tok, []dataset.Example{
		{Text: "The movie", Pair: "was good", Score: 3.5},
		{Text: "The movie was good", Pair: "bad", Label: 1},
	}, 7)
	assert.Equal(t, []train.Example{
		{IDs: []int{clsID, 5, 8, sepID, 37, 19, sepID}, TypeIDs: []int{0, 0, 0, 0, 1, 1, 1}, Score: 3.5},
		{IDs: []int{clsID, 5, 8, 37, sepID, 21, sepID}, TypeIDs: []int{0, 0, 0, 0, 0, 1, 1}, Label: 1},
	}, got)
}
