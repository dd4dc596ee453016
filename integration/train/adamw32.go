package train

import (
	"math"
	"runtime"
	"sync"
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
		gj := g[j]
		wj := w[j] * c.decay
		mj := m[j] + float32(c.oneMinusBeta1*(gj-m[j]))
		vj := v[j]*c.beta2 + float32(float32(c.oneMinusBeta2*gj)*gj)
		denom := float32(sqrt32(vj)/c.sqrtCorrection2) + c.eps
		w[j] = wj + float32(float32(c.negStepSize*mj)/denom)
		m[j], v[j] = mj, vj
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// adamSegment is one float32 parameter's share of an AdamW step.
type adamSegment struct {
	w, g, m, v []float32
	c          adamConsts
}

// adamChunk is how many values one goroutine updates at a time: large enough that handing out
// chunks costs nothing next to them, small enough to share a step of small parameters.
const adamChunk = 1 << 15

// updateSegments runs the float32 updates on GOMAXPROCS goroutines, chunk by chunk; each value
// is updated by the same arithmetic whichever goroutine takes it, so the result does not depend
// on the split.
func updateSegments(segs []adamSegment) {
	type chunk struct {
		seg      int
		from, to int
	}
	var chunks []chunk
	total := 0
	for i, s := range segs {
		for from := 0; from < len(s.w); from += adamChunk {
			chunks = append(chunks, chunk{i, from, min(from+adamChunk, len(s.w))})
		}
		total += len(s.w)
	}
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	if total < 2*adamChunk {
		workers = 1
	}
	next := make(chan chunk, len(chunks))
	for _, c := range chunks {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range next {
				s := &segs[c.seg]
				adamKernel(s.w[c.from:c.to], s.g[c.from:c.to], s.m[c.from:c.to], s.v[c.from:c.to], &s.c)
			}
		})
	}
	wg.Wait()
}
