package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestGemmCachedB checks that GemmCachedB equals Gemm bit for bit, on the first product
// (packing B) and on the next ones (reusing the packing), for both types, both trans flags of B
// and row strides longer than the rows, with several B kept at once.
func TestGemmCachedB(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(DefaultPackedLimit))
	t.Run("float32", func(t *testing.T) { checkCachedB[float32](t) })
	t.Run("float64", func(t *testing.T) { checkCachedB[float64](t) })
}

func checkCachedB[T float32 | float64](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := []shape{{1, 1, 1}, {7, 17, 33}, {32, 384, 384}, {32, 1536, 384}, {32, 384, 1536}, {130, 257, 300}, {5, 3100, 70}}
	for _, s := range shapes {
		for _, transB := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/transB=%v", s, transB), func(t *testing.T) {
				rowsB, colsB := s.k, s.n
				if transB {
					rowsB, colsB = s.n, s.k
				}
				b, ldb := randomMatrix[T](rng, rowsB, colsB)
				before := Stats()
				for round := range 3 {
					a, lda := randomMatrix[T](rng, s.m, s.k)
					want, got := make([]T, s.m*s.n), make([]T, s.m*s.n)
					Gemm(false, transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, want, s.n)
					GemmCachedB(false, transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, got, s.n)
					mustEqual(t, fmt.Sprintf("round %d", round), got, want)
				}
				after := Stats()
				if hits, misses := after.Hits-before.Hits, after.Misses-before.Misses; hits != 2 || misses != 1 {
					t.Errorf("%d hits and %d misses over three products with one B, want 2 and 1", hits, misses)
				}
			})
		}
	}
}

// TestGemmCachedBSeesChanges changes B in place between products, the way Merge, Unmerge, a
// loaded checkpoint or an optimiser step do, and checks that the next product uses the new
// values: after Forget, any change; without it (a writer outside the module), the wholesale
// changes the sampled check is there for.
func TestGemmCachedBSeesChanges(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(DefaultPackedLimit))
	s := shape{32, 384, 1536}
	rng := rand.New(rand.NewPCG(7, 8))
	changes := []struct {
		name   string
		forget bool
		change func(b []float32)
	}{
		{"one element", true, func(b []float32) { b[len(b)/2] += 1e-3 }},
		{"last element", true, func(b []float32) { b[len(b)-1] = -b[len(b)-1] }},
		{"two swapped", true, func(b []float32) { b[1], b[5] = b[5], b[1] }},
		{"merged", true, func(b []float32) {
			// Merge: B += δ, written through Gemm as lora's Merge does.
			d := make([]float32, len(b))
			for i := range d {
				d[i] = float32(i%7) * 0.01
			}
			Gemm(false, false, 1, len(b), 1, 1, []float32{1}, 1, d, len(b), 1, b, len(b))
		}},
		{"unchanged", false, func([]float32) {}},
		{"all scaled, not forgotten", false, func(b []float32) {
			for i := range b {
				b[i] *= 1.5
			}
		}},
		{"new values loaded, not forgotten", false, func(b []float32) {
			for i := range b {
				b[i] = float32(2*rng.Float64() - 1)
			}
		}},
	}
	for _, transB := range []bool{false, true} {
		rowsB, colsB := s.k, s.n
		if transB {
			rowsB, colsB = s.n, s.k
		}
		b, ldb := randomMatrix[float32](rng, rowsB, colsB)
		a, lda := randomMatrix[float32](rng, s.m, s.k)
		product := func(cached bool) []float32 {
			c := make([]float32, s.m*s.n)
			if cached {
				GemmCachedB(false, transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
			} else {
				Gemm(false, transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
			}
			return c
		}
		product(true)
		for _, ch := range changes {
			before := Stats()
			if ch.forget {
				Forget(b)
			}
			ch.change(b)
			old := append([]float32(nil), b...)
			mustEqual(t, fmt.Sprintf("transB=%v, %s", transB, ch.name), product(true), product(false))
			mustEqual(t, "B after the products", b, old)
			if misses := Stats().Misses - before.Misses; misses != 1 && ch.name != "unchanged" {
				t.Errorf("transB=%v, %s: %d misses, want 1 (a new packing)", transB, ch.name, misses)
			}
		}
	}
}

// TestForget checks that Forget drops every packing of a matrix (forward and backward
// products pack it differently) and leaves the others.
func TestForget(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(0))
	SetPackedLimit(DefaultPackedLimit)
	rng := rand.New(rand.NewPCG(13, 14))
	w1, _ := randomMatrix[float32](rng, 40, 30)
	w2, _ := randomMatrix[float32](rng, 40, 30)
	x, _ := randomMatrix[float32](rng, 5, 40)
	y := make([]float32, 5*40)
	for _, w := range [][]float32{w1, w2} {
		GemmCachedB(false, true, 5, 40, 30, 1, x, 30, w, 30, 0, y, 40)
		GemmCachedB(false, false, 5, 30, 40, 1, x, 40, w, 30, 0, y, 30)
	}
	nr := float32Blocking.nr
	perMatrix := int64(roundUp(40, nr)*30+roundUp(30, nr)*40) * 4 // n rounded up to nr columns, times k, in bytes
	if st := Stats(); st.Entries != 4 || st.Bytes != 2*perMatrix {
		t.Fatalf("two matrices packed two ways: %+v, want 4 entries of %d bytes", st, 2*perMatrix)
	}
	Forget(w1)
	Forget(w1[1:]) // not a kept matrix: nothing happens
	if st := Stats(); st.Entries != 2 || st.Bytes != perMatrix {
		t.Fatalf("after forgetting one: %+v, want 2 entries of %d bytes", st, perMatrix)
	}
}

// TestPackedLimit checks that the kept packings stay under the limit; that operands cycled
// through less room than they need keep the first packings and multiply the others as Gemm
// does, rather than each replacing the one needed next; that packings left idle make room for
// new ones; that a B larger than the limit is multiplied without being kept; and that the
// results stay right throughout.
func TestPackedLimit(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(DefaultPackedLimit))
	SetPackedLimit(0)
	if st := Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("limit 0 keeps %d entries of %d bytes", st.Entries, st.Bytes)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	s := shape{8, 64, 96} // op(B) packs to 64·96 float32s: 24 KiB
	const packed = 64 * 96 * 4
	SetPackedLimit(2*packed + packed/2)
	bs := make([][]float32, 4)
	for i := range bs {
		bs[i], _ = randomMatrix[float32](rng, s.k, s.n)
		bs[i] = bs[i][:s.k*s.n]
	}
	a, _ := randomMatrix[float32](rng, s.m, s.k)
	a = a[:s.m*s.k]
	multiply := func(what string, b []float32) {
		t.Helper()
		want, got := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
		Gemm(false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, want, s.n)
		GemmCachedB(false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, got, s.n)
		mustEqual(t, what, got, want)
		if st := Stats(); st.Bytes > st.Limit || st.Entries > 2 {
			t.Fatalf("%s: %d entries of %d bytes, limit %d", what, st.Entries, st.Bytes, st.Limit)
		}
	}
	before := Stats()
	for round := range 5 {
		for i, b := range bs {
			multiply(fmt.Sprintf("round %d, B %d", round, i), b)
		}
	}
	st := Stats()
	if hits := st.Hits - before.Hits; st.Evictions != before.Evictions || hits != 8 || st.Entries != 2 || st.Bytes != 2*packed {
		t.Errorf("cycling 4 operands 5 times through room for 2: %+v, %d hits; want 8 (B 0 and 1 after the first round), no eviction, 2 entries of %d bytes", st, hits, 2*packed)
	}
	for round := range 30 {
		multiply(fmt.Sprintf("B 2 and 3 alone, round %d", round), bs[2+round%2])
	}
	if st := Stats(); st.Evictions-before.Evictions != 2 || st.Entries != 2 {
		t.Errorf("after B 0 and 1 went idle: %+v, want them replaced (2 evictions)", st)
	}
	SetPackedLimit(packed - 1)
	if st := Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("lowering the limit below one packing keeps %d entries of %d bytes", st.Entries, st.Bytes)
	}
	multiply("B larger than the limit", bs[0])
	if st := Stats(); st.Entries != 0 {
		t.Errorf("a B larger than the limit was kept: %+v", st)
	}
}

// TestFingerprint checks that changing any one value, even to a value with the same float
// (−0 for +0) or a NaN payload, changes the fingerprint, for lengths around the four lanes.
func TestFingerprint(t *testing.T) {
	for n := 1; n <= 11; n++ {
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(i) * 0.25
		}
		sum := fingerprint(xs)
		for i := range xs {
			for _, v := range []float32{xs[i] + 1, float32(math.Copysign(0, -1)), float32(math.NaN())} {
				old := xs[i]
				xs[i] = v
				if math.Float32bits(v) != math.Float32bits(old) && fingerprint(xs) == sum {
					t.Errorf("n=%d: setting element %d from %v to %v keeps the fingerprint", n, i, old, v)
				}
				xs[i] = old
			}
		}
		if fingerprint(xs[:n-1]) == sum {
			t.Errorf("n=%d: dropping the last element keeps the fingerprint", n)
		}
	}
}

func mustEqual[T float32 | float64](t *testing.T, what string, got, want []T) {
	t.Helper()
	for i := range want {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s: element %d is %v, want %v bit for bit", what, i, got[i], want[i])
		}
	}
}

// TestPackedDroppedWithB checks that the cache does not keep B alive: once B is collected, its
// packings are dropped and their memory no longer counted.
func TestPackedDroppedWithB(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(0))
	SetPackedLimit(DefaultPackedLimit)
	rng := rand.New(rand.NewPCG(15, 16))
	func() {
		b, _ := randomMatrix[float32](rng, 64, 96)
		a, _ := randomMatrix[float32](rng, 4, 64)
		c := make([]float32, 4*96)
		GemmCachedB(false, false, 4, 96, 64, 1, a, 64, b, 96, 0, c, 96)
		GemmCachedB(false, true, 4, 64, 96, 1, c, 96, b, 96, 0, a, 64)
	}()
	if st := Stats(); st.Entries != 2 {
		t.Fatalf("after two products with one B: %+v, want 2 entries", st)
	}
	for range 100 {
		runtime.GC()
		if st := Stats(); st.Entries == 0 && st.Bytes == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
	t.Errorf("B was collected, its packings are still kept: %+v", Stats())
}

// TestForgetFreesPackings packs a live B anew many times, forgetting it in between as a writer
// would, and checks that the dropped packings are freed, not kept for B's lifetime.
func TestForgetFreesPackings(t *testing.T) {
	defer SetPackedLimit(SetPackedLimit(0))
	SetPackedLimit(DefaultPackedLimit)
	const k, n = 1024, 1024 // a 4 MiB packing
	rng := rand.New(rand.NewPCG(17, 18))
	b := randomSlice[float32](rng, k*n)
	a, c := randomSlice[float32](rng, k), make([]float32, n)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	GemmCachedB(false, false, 1, n, k, 1, a, k, b, n, 0, c, n)
	before := heap()
	for range 40 {
		Forget(b)
		GemmCachedB(false, false, 1, n, k, 1, a, k, b, n, 0, c, n)
	}
	if grown := int64(heap()) - int64(before); grown > 32<<20 {
		t.Errorf("40 packings of 4 MiB, each forgotten: the heap grew by %d MiB", grown>>20)
	}
	runtime.KeepAlive(b)
}
