package op

import (
	"math/rand/v2"
	"testing"
)

// TestGer64 checks the assembly kernel against the Go loop, bit for bit, on shapes with and
// without a tail of fewer than four columns, strided multipliers and a leading dimension wider
// than the block.
func TestGer64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, c := range []struct{ rows, n, ldm, inca int }{
		{1, 1, 1, 1}, {3, 4, 4, 1}, {5, 7, 9, 2}, {32, 32, 32, 32}, {16, 13, 20, 0}, {64, 64, 64, 1},
	} {
		m := make([]float64, (c.rows-1)*c.ldm+c.n)
		a := make([]float64, (c.rows-1)*c.inca+1)
		x := make([]float64, c.n)
		for _, s := range [][]float64{m, a, x} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		want := append([]float64(nil), m...)
		ger(want, c.ldm, a, c.inca, x, c.rows)
		Ger64(m, c.ldm, a, c.inca, x, c.rows)
		for i := range m {
			if m[i] != want[i] {
				t.Fatalf("%+v: value %d is %v, the Go loop gives %v", c, i, m[i], want[i])
			}
		}
	}
}
