package finetune

import (
	"testing"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultBaseIsDeterministic(t *testing.T) {
	a, tokA, err := DefaultBase()
	require.NoError(t, err)
	b, tokB, err := DefaultBase()
	require.NoError(t, err)
	require.Equal(t, len(a.Tensors), len(b.Tensors))
	for name, ta := range a.Tensors {
		assert.True(t, ta.Equal(b.Tensors[name]), name)
	}
	assert.Equal(t, tokA.Encode("A warm, funny film!", 0), tokB.Encode("A warm, funny film!", 0))
	assert.True(t, a.HasPooler())
	assert.False(t, a.HasClassifier())
	assert.Equal(t, 2, a.Config.NumHiddenLayers)
	assert.Equal(t, 128, a.Config.HiddenSize)
	// The padding row is zero, as transformers initialises it.
	word := a.Tensors["embeddings.word_embeddings.weight"]
	assert.Equal(t, make([]float32, 128), word.Data[:128])
}

func TestDefaultBaseTokenizer(t *testing.T) {
	_, tok, err := DefaultBase()
	require.NoError(t, err)
	tests := []struct {
		text string
		want []string
	}{
		// Words of the sample are single tokens.
		{"A warm, funny film!", []string{"[CLS]", "a", "warm", ",", "funny", "film", "!", "[SEP]"}},
		// Other words split into a known stem and ending, or into letters; nothing is [UNK].
		{"Boringly", []string{"[CLS]", "boring", "##ly", "[SEP]"}},
		{"zq9", []string{"[CLS]", "z", "##q", "##9", "[SEP]"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tok.Encode(tt.text, 0).Tokens, tt.text)
	}
}

func TestBuildVocab(t *testing.T) {
	vocab := buildVocab([]string{"Good film. Good!", "bad film", "good"})
	assert.Equal(t, []string{tokenizer.PadToken, tokenizer.UnkToken, tokenizer.ClsToken, tokenizer.SepToken, tokenizer.MaskToken}, vocab[:5])
	// Words come last, most frequent first, ties alphabetically.
	assert.Equal(t, []string{"good", "film", "bad"}, vocab[len(vocab)-3:])
	assert.Contains(t, vocab, "##x")
	assert.Contains(t, vocab, "!")
	assert.NotContains(t, vocab, "A")
}
