package op

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/stretchr/testify/require"
)

// float64Of is rand.Rand.Float64's value for the draw u.
func float64Of(u uint64) float64 { return float64(u<<11>>11) / (1 << 53) }

// TestKeepThreshold checks that comparing a draw's low 53 bits against keepThreshold(p) keeps
// exactly the draws whose rand.Rand.Float64 is at least p, at the edges: p = 0, tiny p, p just
// below 1, and draws on either side of the threshold with any high bits.
func TestKeepThreshold(t *testing.T) {
	ps := []float64{
		0, math.SmallestNonzeroFloat64, 0x1p-1074 * 3, 0x1p-60, 0x1p-54, 0x1p-53, 0x1p-53 * 1.5,
		0x1p-52, 0.1, 0.25, 1.0 / 3, 0.5, math.Nextafter(0.5, 0), math.Nextafter(0.5, 1), 0.9,
		1 - 0x1p-52, math.Nextafter(1, 0), // 1 − 2⁻⁵³, the largest p below 1
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		ps = append(ps, rng.Float64())
	}
	for _, p := range ps {
		th := keepThreshold(p)
		require.LessOrEqual(t, th, uint64(low53), "p %g", p)
		ks := []uint64{0, 1, 2, low53 - 1, low53, th, th + 1, th + 2}
		if th > 0 {
			ks = append(ks, th-1)
		}
		if th > 1 {
			ks = append(ks, th-2)
		}
		for _, k := range ks {
			k &= low53
			for _, high := range []uint64{0, 1, 0x7ff, rng.Uint64() >> 53} {
				u := high<<53 | k
				want := uint64(0)
				if float64Of(u) >= p {
					want = 1
				}
				require.Equal(t, want, kept(u, th), "p %g (%x), u %#x", p, math.Float64bits(p), u)
			}
		}
	}
}

// bulkPCG is a BulkSource over rand.PCG, whose Fill is Uint64 called len(dst) times.
type bulkPCG struct{ rand.PCG }

func (b *bulkPCG) Fill(dst []uint64) {
	for i := range dst {
		dst[i] = b.Uint64()
	}
}

// TestDropoutMaskBulk checks that DropoutMask gives the masks of one rand.Rand.Float64 per
// value, bit for bit, with bulk draws on and off, from a *rand.Rand, a plain rand.Source and a
// BulkSource, for both float types, several p and sizes on either side of the chunk size, and
// that it leaves each source where that many Float64 calls would.
func TestDropoutMaskBulk(t *testing.T) {
	ps := []float64{0, 0x1p-60, 0.1, 0.5, math.Nextafter(1, 0)}
	sizes := []int{0, 1, 7, maskChunk - 1, maskChunk, maskChunk + 1, 3*maskChunk + 5}
	sources := []struct {
		name string
		make func(seed uint64) rand.Source
	}{
		{"rand.Rand", func(seed uint64) rand.Source { return rand.New(rand.NewPCG(seed, 9)) }},
		{"rand.PCG", func(seed uint64) rand.Source { return rand.NewPCG(seed, 9) }},
		{"bulk", func(seed uint64) rand.Source { return &bulkPCG{*rand.NewPCG(seed, 9)} }},
	}
	for _, p := range ps {
		for _, size := range sizes {
			for _, src := range sources {
				for _, bulk := range []bool{true, false} {
					name := fmt.Sprintf("p=%g/size=%d/%s/bulk=%t", p, size, src.name, bulk)
					t.Run(name, func(t *testing.T) {
						was := SetBulkDraws(bulk)
						defer SetBulkDraws(was)
						seed := uint64(size)
						checkMask[float32](t, size, p, src.make(seed), rand.New(rand.NewPCG(seed, 9)))
						checkMask[float64](t, size, p, src.make(seed), rand.New(rand.NewPCG(seed, 9)))
					})
				}
			}
		}
	}
}

// checkMask compares DropoutMask from src with the mask that want's Float64 calls give, then
// the next draw of both.
func checkMask[T float.DType](t *testing.T, size int, p float64, src rand.Source, want *rand.Rand) {
	t.Helper()
	got := DropoutMask[T](size, p, src)
	require.Len(t, got, size)
	keep := T(1 / (1 - p))
	for i, m := range got {
		w := T(0)
		if want.Float64() >= p {
			w = keep
		}
		require.Equal(t, w, m, "value %d", i)
	}
	require.Equal(t, want.Uint64(), src.Uint64(), "the draw after the mask")
}

// TestDropoutBulkSameBits checks that the Dropout operator's values and gradients do not move
// with the bulk draws.
func TestDropoutBulkSameBits(t *testing.T) {
	run := func(bulk bool) ([]uint32, []uint32) {
		was := SetBulkDraws(bulk)
		defer SetBulkDraws(was)
		x := mat.NewDense[float32](mat.WithShape(37, 29), mat.WithGrad(true))
		rng := rand.New(rand.NewPCG(5, 6))
		for i, d := 0, x.Data().F32(); i < len(d); i++ {
			d[i] = float32(rng.NormFloat64())
		}
		y := Dropout(x, 0.3, &bulkPCG{*rand.NewPCG(7, 8)})
		y.AccGrad(y.Value().(mat.Matrix).OnesLike())
		require.NoError(t, ag.Backward(y))
		return bitsOf(y.Value().Data().F32()), bitsOf(x.Grad().Data().F32())
	}
	y1, g1 := run(true)
	y0, g0 := run(false)
	require.Equal(t, y0, y1)
	require.Equal(t, g0, g1)
}

// bitsOf returns the bits of each value, so that comparisons tell −0 from 0.
func bitsOf(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}
