package safetensors

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
		got := float64(HalfToFloat32(uint16(bits)))
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
