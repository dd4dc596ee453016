package checkpoint

import (
	"math"
	"testing"
)

// TestHalfToFloat32Exhaustive compares all 65536 half-precision bit patterns
// with the value the IEEE 754 definition gives.
func TestHalfToFloat32Exhaustive(t *testing.T) {
	for bits := range 1 << 16 {
		sign := 1.0
		if bits>>15 == 1 {
			sign = -1
		}
		exp, mant := (bits>>10)&0x1f, bits&0x3ff
		var want float64
		switch exp {
		case 0:
			want = sign * math.Ldexp(float64(mant), -24)
		case 0x1f:
			want = math.Inf(int(sign))
			if mant != 0 {
				want = math.NaN()
			}
		default:
			want = sign * math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		got := float64(halfToFloat32(uint16(bits)))
		switch {
		case math.IsNaN(want):
			if !math.IsNaN(got) {
				t.Fatalf("0x%04x: got %g, want NaN", bits, got)
			}
		case got != want || math.Signbit(got) != math.Signbit(want):
			t.Fatalf("0x%04x: got %g, want %g", bits, got, want)
		}
	}
}

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
