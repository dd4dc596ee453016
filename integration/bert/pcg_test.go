package bert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spago-peft/spago-peft/internal/op"
	"github.com/stretchr/testify/require"
)

// TestPCGMatchesRand checks that pcg draws what rand.PCG draws from the same seeds, through
// Uint64 and through fills of every length around the four-way loop's, mixed.
func TestPCGMatchesRand(t *testing.T) {
	seeds := [][2]uint64{{0, 0}, {1, 2}, {math.MaxUint64, math.MaxUint64}, {0x9e3779b97f4a7c15, 7}}
	for _, s := range seeds {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 100} {
			t.Run(fmt.Sprintf("seed=%x,%x/n=%d", s[0], s[1], n), func(t *testing.T) {
				want := rand.NewPCG(s[0], s[1])
				var got pcg
				got.Seed(s[0], s[1])
				buf := make([]uint64, n)
				for round := range 3 {
					got.fill(buf)
					for i, u := range buf {
						require.Equal(t, want.Uint64(), u, "round %d, fill value %d", round, i)
					}
					require.Equal(t, want.Uint64(), got.Uint64(), "round %d, Uint64 after the fill", round)
				}
			})
		}
	}
}

// referenceDraws returns the first n draws of a site's generator as its documentation states
// them, from rand.PCG: sizes[s] draws from sequence s's generator, seeded (site, mix(keys[s])),
// sequence after sequence, then on with the last one.
func referenceDraws(site uint64, keys []uint64, sizes []int, n int) []uint64 {
	var out []uint64
	var g *rand.PCG
	for s, size := range sizes {
		g = rand.NewPCG(site, mix(keys[s]))
		for range size {
			out = append(out, g.Uint64())
		}
	}
	if g == nil {
		g = rand.NewPCG(0, 0) // no sequence: the zero generator
	}
	for len(out) < n {
		out = append(out, g.Uint64())
	}
	return out[:n]
}

// TestSequenceSourceFill checks that Fill and Uint64, mixed in runs of every length, draw what
// the documented generators draw, across sequences of any size (none too), past the last one,
// and that skip skips exactly.
func TestSequenceSourceFill(t *testing.T) {
	keys := []uint64{7, 8, 9, 10}
	cases := []struct {
		name  string
		sizes []int
	}{
		{"none", nil},
		{"one-empty", []int{0}},
		{"two", []int{2, 3}},
		{"empties", []int{0, 5, 0, 1}},
		{"long", []int{1500, 1, 700, 3}},
	}
	runs := []int{1, 3, 4, 7, 64, 1000}
	for _, c := range cases {
		for _, skip := range []int{0, 1, 5, 300} {
			t.Run(fmt.Sprintf("%s/skip=%d", c.name, skip), func(t *testing.T) {
				total := skip + 3000
				want := referenceDraws(11, keys, c.sizes, total)[skip:]
				src := &sequenceSource{site: 11, keys: keys[:len(c.sizes)], sizes: c.sizes, seq: -1}
				src.skip(skip)
				var got []uint64
				for r := 0; len(got) < len(want); r++ {
					n := min(runs[r%len(runs)], len(want)-len(got))
					if r%3 == 2 {
						for range n {
							got = append(got, src.Uint64())
						}
						continue
					}
					buf := make([]uint64, n)
					src.Fill(buf)
					got = append(got, buf...)
				}
				require.Equal(t, want, got)
			})
		}
	}
}

// TestSharedSource checks that DeBERTa's shared site draws what rand.NewPCG(site, mix(key))
// draws, the generator it had before sequenceSource served it.
func TestSharedSource(t *testing.T) {
	d := &masks{seed: 5, keys: []uint64{7, 8}, lengths: []int{2, 3}}
	d.tokens(1)
	src := d.shared(4)
	want := rand.NewPCG(mix(d.seed^mix(2)), mix(7))
	buf := make([]uint64, 13)
	for range 3 {
		src.Fill(buf)
		for i, u := range buf {
			require.Equal(t, want.Uint64(), u, "value %d", i)
		}
		require.Equal(t, want.Uint64(), src.Uint64())
	}
}

// TestSiteMasksBulk checks that a site's masks, drawn by op.DropoutMask in bulk or a Float64 at
// a time, are those of the twin generator that DropoutSiteHook hands out, for both float types,
// over sequences longer and shorter than DropoutMask's chunks.
func TestSiteMasksBulk(t *testing.T) {
	var twin DropoutSite
	DropoutSiteHook = func(s DropoutSite) { twin = s }
	t.Cleanup(func() { DropoutSiteHook = nil })
	const width, p = 96, 0.1
	lengths := []int{9, 1, 30}
	for _, bulk := range []bool{true, false} {
		t.Run(fmt.Sprintf("bulk=%t", bulk), func(t *testing.T) {
			was := op.SetBulkDraws(bulk)
			defer op.SetBulkDraws(was)
			for _, f64 := range []bool{false, true} {
				d := &masks{seed: 5, keys: []uint64{7, 8, 9}, lengths: lengths}
				src := d.tokens(width)
				var got []float64
				if f64 {
					got = op.DropoutMask[float64](40*width, p, src)
				} else {
					for _, v := range op.DropoutMask[float32](40*width, p, src) {
						got = append(got, float64(v))
					}
				}
				keep := 1 / (1 - p)
				if !f64 {
					keep = float64(float32(keep))
				}
				for i, m := range got {
					w := 0.0
					if twin.Rand.Float64() >= p {
						w = keep
					}
					require.Equal(t, w, m, "f64 %t, value %d", f64, i)
				}
			}
		})
	}
}

// BenchmarkSiteMask draws the float32 mask of one tokens site over 8 sequences of 64 tokens of
// MiniLM's width, with bulk draws on and off.
func BenchmarkSiteMask(b *testing.B) {
	lengths := []int{64, 64, 64, 64, 64, 64, 64, 64}
	for _, bulk := range []bool{true, false} {
		b.Run(fmt.Sprintf("bulk=%t", bulk), func(b *testing.B) {
			was := op.SetBulkDraws(bulk)
			defer op.SetBulkDraws(was)
			d := &masks{seed: 5, keys: []uint64{1, 2, 3, 4, 5, 6, 7, 8}, lengths: lengths}
			for b.Loop() {
				op.DropoutMask[float32](8*64*384, 0.1, d.tokens(384))
			}
		})
	}
}

// BenchmarkPCGFill draws 512 values: from rand.PCG one at a time, from pcg one at a time, and
// with pcg.fill's four chains side by side.
func BenchmarkPCGFill(b *testing.B) {
	buf := make([]uint64, 512)
	b.Run("rand.PCG", func(b *testing.B) {
		g := rand.NewPCG(1, 2)
		for b.Loop() {
			for i := range buf {
				buf[i] = g.Uint64()
			}
		}
	})
	b.Run("Uint64", func(b *testing.B) {
		var g pcg
		g.Seed(1, 2)
		for b.Loop() {
			for i := range buf {
				buf[i] = g.Uint64()
			}
		}
	})
	b.Run("fill", func(b *testing.B) {
		var g pcg
		g.Seed(1, 2)
		for b.Loop() {
			g.fill(buf)
		}
	})
}
