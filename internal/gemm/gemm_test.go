package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/nlpodyssey/spago/mat/float"
)

// gemmFunc has Gemm's signature, so that the tests can run the blockings directly too.
type gemmFunc[T float.DType] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// shape is m×n×k: op(A) is m×k, op(B) k×n.
type shape struct{ m, n, k int }

func (s shape) String() string { return fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k) }

// scalars are the (alpha, beta) pairs every shape is tried with; beta 0 gets NaN in C.
var scalars = []struct{ alpha, beta float64 }{
	{1, 0},
	{1, 1},
	{-0.75, 2.5},
	{0, 0.5},
	{2, 0},
}

// edgeSizes are sizes around the register tiles (4×4, 6×16) and cache blocks (kc 256).
var edgeSizes = []int{1, 3, 7, 17, 33, 65, 130, 257}

// testShapes returns the shapes of the correctness tests: all small combinations of edge
// sizes, the larger ones in rotation, and the BERT shapes.
func testShapes() []shape {
	var shapes []shape
	small := edgeSizes[:5]
	for _, m := range small {
		for _, n := range small {
			for _, k := range small {
				shapes = append(shapes, shape{m, n, k})
			}
		}
	}
	for i, s := range edgeSizes[5:] {
		large := edgeSizes[5:]
		shapes = append(shapes,
			shape{s, large[(i+1)%3], large[(i+2)%3]},
			shape{s, 1, s}, shape{1, s, s}, shape{s, s, 1})
	}
	return append(shapes, shape{0, 5, 3}, shape{4, 0, 3}, shape{4, 5, 0},
		shape{32, 384, 384}, shape{32, 1536, 384}, shape{32, 384, 1536}, shape{128, 128, 128}, shape{97, 768, 64})
}

func TestGemmFloat32(t *testing.T) {
	checkAll(t, Gemm[float32], testShapes(), 1e-6)
}

func TestGemmFloat64(t *testing.T) {
	checkAll(t, Gemm[float64], testShapes(), 1e-14)
}

// TestBlockings runs the kernels that Gemm may not pick on this machine (or, with the openblas
// tag, none), and a blocking so small that every shape crosses several mc, kc and nc blocks.
func TestBlockings(t *testing.T) {
	blockings := map[string]*blocking[float32]{
		"chosen":   float32Blocking,
		"portable": newPortableBlocking[float32](),
		"tiny":     {mr: float32Blocking.mr, nr: float32Blocking.nr, mc: 2 * float32Blocking.mr, kc: 5, nc: 2 * float32Blocking.nr, tile: float32Blocking.tile},
	}
	for name, bl := range blockings {
		t.Run(name, func(t *testing.T) {
			checkAll(t, blockingFunc(bl), smallShapes(), 1e-6)
		})
	}
}

// blockingFunc returns Gemm through bl alone.
func blockingFunc(bl *blocking[float32]) gemmFunc[float32] {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if m == 0 || n == 0 || k == 0 || alpha == 0 {
			scale(m, n, beta, c, ldc) // as Gemm does, without calling a blocking
			return
		}
		bl.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// smallShapes returns the test shapes of at most 2²⁰ multiply-adds.
func smallShapes() []shape {
	var shapes []shape
	for _, s := range testShapes() {
		if s.m*s.n*s.k <= 1<<20 {
			shapes = append(shapes, s)
		}
	}
	return shapes
}

// checkAll compares gemm with a float64 triple loop on every shape, transpose combination and
// scalar pair, with row strides longer than the rows. The error bound is tol·(k+1) times the
// sum of the absolute terms of each element.
func checkAll[T float.DType](t *testing.T, gemm gemmFunc[T], shapes []shape, tol float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		for _, transA := range []bool{false, true} {
			for _, transB := range []bool{false, true} {
				for i, sc := range scalars {
					// Large products try one scalar pair each, in rotation, to keep the test short.
					if s.m*s.n*s.k > 1<<18 && i != (s.m+s.n+s.k)%len(scalars) {
						continue
					}
					name := fmt.Sprintf("%v/transA=%v/transB=%v/alpha=%v/beta=%v", s, transA, transB, sc.alpha, sc.beta)
					t.Run(name, func(t *testing.T) {
						checkOne(t, gemm, rng, s, transA, transB, T(sc.alpha), T(sc.beta), tol)
					})
				}
			}
		}
	}
}

// checkOne runs one product on random operands whose padding (the tail of each stride) holds
// NaN, so reading it shows up; C's padding must come back untouched, and with beta 0 all of C
// starts as NaN.
func checkOne[T float.DType](t *testing.T, gemm gemmFunc[T], rng *rand.Rand, s shape, transA, transB bool, alpha, beta T, tol float64) {
	rowsA, colsA := s.m, s.k
	if transA {
		rowsA, colsA = s.k, s.m
	}
	rowsB, colsB := s.k, s.n
	if transB {
		rowsB, colsB = s.n, s.k
	}
	a, lda := randomMatrix[T](rng, rowsA, colsA)
	b, ldb := randomMatrix[T](rng, rowsB, colsB)
	c, ldc := randomMatrix[T](rng, s.m, s.n)
	if beta == 0 {
		for i := range c {
			c[i] = T(math.NaN())
		}
	}
	c0 := append([]T(nil), c...)

	gemm(transA, transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc)

	// op(A) row by row and op(B) column by column, in float64.
	opA, opB := make([]float64, s.m*s.k), make([]float64, s.n*s.k)
	for i := range s.m {
		for p := range s.k {
			if transA {
				opA[i*s.k+p] = float64(a[p*lda+i])
			} else {
				opA[i*s.k+p] = float64(a[i*lda+p])
			}
		}
	}
	for j := range s.n {
		for p := range s.k {
			if transB {
				opB[j*s.k+p] = float64(b[j*ldb+p])
			} else {
				opB[j*s.k+p] = float64(b[p*ldb+j])
			}
		}
	}
	for i := range s.m {
		for j := range s.n {
			var sum, abs float64
			for p, x := range opA[i*s.k : (i+1)*s.k] {
				y := opB[j*s.k+p]
				sum += x * y
				abs += math.Abs(x * y)
			}
			want := float64(alpha) * sum
			abs *= math.Abs(float64(alpha))
			if beta != 0 {
				want += float64(beta) * float64(c0[i*ldc+j])
				abs += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			got := float64(c[i*ldc+j])
			if bound := tol * float64(s.k+1) * abs; !(math.Abs(got-want) <= bound) {
				t.Fatalf("C[%d,%d] = %v, want %v ± %.3g", i, j, got, want, bound)
			}
		}
		for j := s.n; j < ldc && i*ldc+j < len(c); j++ {
			if !math.IsNaN(float64(c[i*ldc+j])) {
				t.Fatalf("C[%d,%d] in the stride padding was written: %v", i, j, c[i*ldc+j])
			}
		}
	}
}

// randomMatrix returns a rows×cols matrix of values in [-1, 1) with a row stride of cols plus
// 0 to 3, the padding set to NaN.
func randomMatrix[T float.DType](rng *rand.Rand, rows, cols int) ([]T, int) {
	ld := cols + rng.IntN(4)
	x := make([]T, rows*ld)
	for i := range x {
		if i%ld < cols {
			x[i] = T(2*rng.Float64() - 1)
		} else {
			x[i] = T(math.NaN())
		}
	}
	return x, ld
}

func TestGemmPanicsOnBadArguments(t *testing.T) {
	x := make([]float32, 12)
	tests := []struct {
		name string
		call func()
	}{
		{"negative m", func() { Gemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2) }},
		{"lda shorter than a row", func() { Gemm(false, false, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2) }},
		{"transposed lda shorter than a row", func() { Gemm(true, false, 3, 2, 2, 1, x, 2, x, 2, 0, x, 2) }},
		{"A too short", func() { Gemm(false, false, 4, 2, 3, 1, x[:11], 3, x, 2, 0, x, 2) }},
		{"B too short", func() { Gemm(false, true, 2, 4, 3, 1, x, 3, x[:11], 3, 0, x, 4) }},
		{"C too short", func() { Gemm(false, false, 2, 6, 2, 1, x, 2, x, 6, 0, x[:11], 6) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.call()
		})
	}
}

// TestGemmConcurrentDeterministic runs products from several goroutines at once, with more
// worker goroutines than cores, and checks that each result equals, bit for bit, the one
// computed on one goroutine: every tile is computed by one work unit in a fixed order, so
// the split across goroutines must not change the result.
func TestGemmConcurrentDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []shape{{32, 384, 384}, {257, 130, 65}, {130, 257, 300}, {600, 40, 70}}
	type product struct {
		s            shape
		transB       bool
		ldb          int
		a, b, c, out []float32
	}
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(2*rng.Float64() - 1)
		}
		return x
	}
	products := make([]product, 2*len(shapes))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for i := range products {
		s := shapes[i%len(shapes)]
		p := product{s: s, transB: i%2 == 1, ldb: s.n, a: random(s.m * s.k), b: random(s.k * s.n)}
		if p.transB {
			p.ldb = s.k
		}
		p.c, p.out = make([]float32, s.m*s.n), make([]float32, s.m*s.n)
		Gemm(false, p.transB, s.m, s.n, s.k, 1, p.a, s.k, p.b, p.ldb, 0, p.c, s.n)
		products[i] = p
	}
	runtime.GOMAXPROCS(5)
	var wg sync.WaitGroup
	for _, p := range products {
		wg.Go(func() {
			Gemm(false, p.transB, p.s.m, p.s.n, p.s.k, 1, p.a, p.s.k, p.b, p.ldb, 0, p.out, p.s.n)
		})
	}
	wg.Wait()
	for i, p := range products {
		for j := range p.c {
			if p.c[j] != p.out[j] {
				t.Fatalf("product %d (%v): element %d is %v in parallel, %v on one goroutine", i, p.s, j, p.out[j], p.c[j])
			}
		}
	}
}
