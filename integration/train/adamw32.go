package train

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// adamConsts are the scalars of one float32 AdamW step, rounded to float32 as PyTorch's
// kernels round them: the weight decay factor 1 − lr·λ, the moment weights 1 − β1, β2 and
// 1 − β2, √(1 − β2ᵗ), ε, and −lr/(1 − β1ᵗ). The assembly kernel reads them in this order.
type adamConsts struct {
	decay, oneMinusBeta1, beta2, oneMinusBeta2, sqrtCorrection2, eps, negStepSize float32
}

func newAdamConsts(lr, weightDecay float64, step int) adamConsts {
	return adamConsts{
		decay:           float32(1 - lr*weightDecay),
		oneMinusBeta1:   float32(1 - adamBeta1),
		beta2:           float32(adamBeta2),
		oneMinusBeta2:   float32(1 - adamBeta2),
		sqrtCorrection2: float32(math.Sqrt(1 - math.Pow(adamBeta2, float64(step)))),
		eps:             float32(adamEps),
		negStepSize:     float32(-lr / (1 - math.Pow(adamBeta1, float64(step)))),
	}
}

// adamUpdate32 is one AdamW step over float32 values, moments and all, in the order of
// torch.optim.AdamW's single-tensor path on float32 parameters:
// w ← w·(1 − lr·λ); m ← m + (1−β1)·(g − m) (lerp); v ← v·β2 + (1−β2)·g·g;
// w ← w + (−lr/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε).
// Every operation rounds to float32 (no fused multiply-adds), so the vector kernel and this
// loop agree bit for bit.
func adamUpdate32(w, g, m, v []float32, c *adamConsts) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	for j := range n {
		w[j], m[j], v[j] = adamValue32(w[j], g[j], m[j], v[j], c)
	}
}

// adamValue32 is adamUpdate32 on one value: the new w, m and v for gradient g.
func adamValue32(w, g, m, v float32, c *adamConsts) (float32, float32, float32) {
	wj := w * c.decay
	mj := m + float32(c.oneMinusBeta1*(g-m))
	vj := v*c.beta2 + float32(float32(c.oneMinusBeta2*g)*g)
	denom := float32(sqrt32(vj)/c.sqrtCorrection2) + c.eps
	return wj + float32(float32(c.negStepSize*mj)/denom), mj, vj
}

// adamUpdate32Reset is adamUpdate32 on the gradient scaled by scale (rounded as scaleInPlace
// rounds: the clipping of clipGradients, 1 for none), and resets the gradient to −0 as it goes
// (see resetGrads): one pass over the gradient instead of three.
func adamUpdate32Reset(w, g, m, v []float32, c *adamConsts, scale float64) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	negZero := math.Float32frombits(negZero32)
	for j := range n {
		gj := float32(float64(g[j]) * scale)
		g[j] = negZero
		w[j], m[j], v[j] = adamValue32(w[j], gj, m[j], v[j], c)
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// adamSegment is one float32 parameter's share of an AdamW step.
type adamSegment struct {
	w, g, m, v []float32
	c          adamConsts
	scale      float64 // the gradient's clipping factor, with reset
	reset      bool    // by adamKernelReset: scaled, and the gradient reset to −0
}

// adamChunk is how many values one goroutine updates at a time: large enough that handing out
// chunks costs nothing next to them, small enough to share a step of small parameters.
const adamChunk = 1 << 15

// updateSegments runs the float32 updates on GOMAXPROCS goroutines, chunk by chunk; each value
// is updated by the same arithmetic whichever goroutine takes it, so the result does not depend
// on the split.
func updateSegments(segs []adamSegment) {
	lengths := make([]int, len(segs))
	for i, s := range segs {
		lengths[i] = len(s.w)
	}
	forChunks(lengths, func(_, seg, from, to int) {
		s := &segs[seg]
		if s.reset {
			adamKernelReset(s.w[from:to], s.g[from:to], s.m[from:to], s.v[from:to], &s.c, s.scale)
			return
		}
		adamKernel(s.w[from:to], s.g[from:to], s.m[from:to], s.v[from:to], &s.c)
	})
}

// chunk is values [from, to) of slice seg of a list.
type chunk struct{ seg, from, to int }

// chunksOf cuts slices of the given lengths into chunks of at most adamChunk values, in order.
func chunksOf(lengths []int) []chunk {
	var chunks []chunk
	for i, n := range lengths {
		for from := 0; from < n; from += adamChunk {
			chunks = append(chunks, chunk{i, from, min(from+adamChunk, n)})
		}
	}
	return chunks
}

// forChunks calls do on every chunk of slices of the given lengths (numbered in order by
// chunksOf), on GOMAXPROCS goroutines when there are enough values to share.
func forChunks(lengths []int, do func(i, seg, from, to int)) {
	chunks := chunksOf(lengths)
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	if len(chunks) < 2 {
		workers = 1
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(chunks) {
				return
			}
			c := chunks[i]
			do(i, c.seg, c.from, c.to)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// sumSquares32 returns Σ x² over xs, in float64: the sums of chunks, each computed in four
// interleaved float64 accumulators, added in chunk order, so the result does not depend on the
// number of goroutines.
func sumSquares32(xs [][]float32) float64 {
	lengths := make([]int, len(xs))
	for i, x := range xs {
		lengths[i] = len(x)
	}
	partial := make([]float64, len(chunksOf(lengths)))
	forChunks(lengths, func(i, seg, from, to int) {
		x := xs[seg][from:to]
		var s0, s1, s2, s3 float64
		j := 0
		for ; j+4 <= len(x); j += 4 {
			v := x[j : j+4 : j+4]
			a, b, c, d := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
			s0 += a * a
			s1 += b * b
			s2 += c * c
			s3 += d * d
		}
		for ; j < len(x); j++ {
			s0 += float64(x[j]) * float64(x[j])
		}
		partial[i] = (s0 + s1) + (s2 + s3)
	})
	sum := 0.0
	for _, p := range partial {
		sum += p
	}
	return sum
}

// scale32 multiplies every value of xs by c, in float64 and rounded back, as scaleInPlace does.
func scale32(xs [][]float32, c float64) {
	forParts(xs, func(x []float32) { scaleInPlace(x, c) })
}

// forParts calls do on chunks of xs that together cover every value once, across the cores.
func forParts(xs [][]float32, do func([]float32)) {
	lengths := make([]int, len(xs))
	for i, x := range xs {
		lengths[i] = len(x)
	}
	forChunks(lengths, func(_, seg, from, to int) { do(xs[seg][from:to]) })
}
