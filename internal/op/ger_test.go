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

// TestVecMat64 checks the assembly kernel against the Go loop and against k rank-one updates of
// one row by Ger64, bit for bit, on widths with 16-, 4- and 1-column parts and strided
// multipliers.
func TestVecMat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	for _, sh := range []struct{ n, k, ldm, inca int }{
		{1, 1, 1, 1}, {3, 5, 4, 2}, {4, 4, 4, 1}, {16, 3, 16, 1}, {23, 9, 30, 3}, {32, 32, 32, 32}, {64, 7, 64, 0},
	} {
		c := make([]float64, sh.n)
		a := make([]float64, (sh.k-1)*sh.inca+1)
		m := make([]float64, (sh.k-1)*sh.ldm+sh.n)
		for _, s := range [][]float64{c, a, m} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		want := append([]float64(nil), c...)
		vecMat(want, a, sh.inca, m, sh.ldm, sh.k)
		byGer := append([]float64(nil), c...)
		for j := 0; j < sh.k; j++ {
			Ger64(byGer, sh.n, a[j*sh.inca:], 1, m[j*sh.ldm:j*sh.ldm+sh.n], 1)
		}
		VecMat64(c, a, sh.inca, m, sh.ldm, sh.k)
		for i := range c {
			if c[i] != want[i] || c[i] != byGer[i] {
				t.Fatalf("%+v: value %d is %v, the Go loop gives %v, Ger64 %v", sh, i, c[i], want[i], byGer[i])
			}
		}
	}
}
