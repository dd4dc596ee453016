package checkpoint

import "testing"

func TestCanonicalName(t *testing.T) {
	tests := []struct {
		stored, want string
		keep         bool
	}{
		{"bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight", true},
		{"embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight", true},
		{"bert.encoder.layer.3.output.LayerNorm.gamma", "encoder.layer.3.output.LayerNorm.weight", true},
		{"bert.embeddings.LayerNorm.beta", "embeddings.LayerNorm.bias", true},
		{"classifier.weight", "classifier.weight", true},
		{"bert.pooler.dense.bias", "pooler.dense.bias", true},
		{"cls.predictions.decoder.weight", "", false},
		{"cls.seq_relationship.bias", "", false},
		{"bert.embeddings.position_ids", "", false},
		{"embeddings.position_ids", "", false},
	}
	for _, tt := range tests {
		got, keep := canonicalName(tt.stored)
		if got != tt.want || keep != tt.keep {
			t.Errorf("canonicalName(%q) = %q, %v; want %q, %v", tt.stored, got, keep, tt.want, tt.keep)
		}
	}
}
