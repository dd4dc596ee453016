package bert

import "math/bits"

// pcg is math/rand/v2's PCG generator (128-bit LCG state, DXSM output), value for value, with a
// bulk fill that math/rand/v2 lacks: Seed(a, b) then Uint64 give what rand.NewPCG(a, b) gives
// (TestPCGMatchesRand). The masks draw millions of values per training step; rand.PCG, reached
// through rand.Rand and a rand.Source, costs a few dynamic calls and a serial chain of
// multiplications per value, where fill runs four steps of the sequence side by side.
type pcg struct{ hi, lo uint64 }

// The LCG's multiplier and increment, and the output's multiplier: math/rand/v2's (PCG's
// reference constants).
const (
	pcgMulHi  = 2549297995355413924
	pcgMulLo  = 4865540595714422341
	pcgIncHi  = 6364136223846793005
	pcgIncLo  = 1442695040888963407
	pcgOutMul = 0xda942042e4dd58b5
)

// pcgJump4 is the LCG's step four times over, s ↦ a·s + c: fill advances four states at once.
var pcgJump4 = pcgJump(4)

// affine is the map s ↦ a·s + c on 128-bit states (mod 2¹²⁸).
type affine struct{ aHi, aLo, cHi, cLo uint64 }

// pcgJump returns the LCG's step composed n times.
func pcgJump(n int) affine {
	j := affine{aLo: 1} // the identity
	for range n {
		// step ∘ j: s ↦ mul·(a·s + c) + inc
		j.aHi, j.aLo = mul128(j.aHi, j.aLo, pcgMulHi, pcgMulLo)
		j.cHi, j.cLo = mul128(j.cHi, j.cLo, pcgMulHi, pcgMulLo)
		j.cHi, j.cLo = add128(j.cHi, j.cLo, pcgIncHi, pcgIncLo)
	}
	return j
}

// apply returns a·s + c for the state s = (hi, lo).
func (j affine) apply(hi, lo uint64) (uint64, uint64) {
	hi, lo = mul128(hi, lo, j.aHi, j.aLo)
	return add128(hi, lo, j.cHi, j.cLo)
}

// mul128 returns x·y mod 2¹²⁸.
func mul128(xHi, xLo, yHi, yLo uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(xLo, yLo)
	return hi + (xHi*yLo + xLo*yHi), lo // the cross terms first, beside Mul64: one add fewer after it
}

// add128 returns x + y mod 2¹²⁸.
func add128(xHi, xLo, yHi, yLo uint64) (hi, lo uint64) {
	lo, carry := bits.Add64(xLo, yLo, 0)
	hi, _ = bits.Add64(xHi, yHi, carry)
	return hi, lo
}

// pcgStep returns the LCG's next state after (hi, lo).
func pcgStep(hi, lo uint64) (uint64, uint64) {
	hi, lo = mul128(hi, lo, pcgMulHi, pcgMulLo)
	return add128(hi, lo, pcgIncHi, pcgIncLo)
}

// pcgOutput is DXSM, the value PCG draws from the state (hi, lo).
func pcgOutput(hi, lo uint64) uint64 {
	hi ^= hi >> 32
	hi *= pcgOutMul
	hi ^= hi >> 48
	return hi * (lo | 1)
}

// Seed sets the state as rand.PCG.Seed does.
func (p *pcg) Seed(seed1, seed2 uint64) { p.hi, p.lo = seed1, seed2 }

// Uint64 returns the next value, as rand.PCG.Uint64.
func (p *pcg) Uint64() uint64 {
	hi, lo := pcgStep(p.hi, p.lo)
	p.hi, p.lo = hi, lo
	return pcgOutput(hi, lo)
}

// fill sets dst to the next len(dst) values of Uint64. The LCG's steps form one serial chain of
// 128-bit multiplications, each waiting for the last; states n, n+1, n+2 and n+3 each advanced
// by four steps at a time are four independent chains, whose multiplications overlap.
func (p *pcg) fill(dst []uint64) {
	hi, lo := p.hi, p.lo
	i := 0
	if len(dst) >= 4 {
		h0, l0 := pcgStep(hi, lo)
		h1, l1 := pcgStep(h0, l0)
		h2, l2 := pcgStep(h1, l1)
		h3, l3 := pcgStep(h2, l2)
		j := pcgJump4
		for ; i+4 <= len(dst); i += 4 {
			d := dst[i : i+4 : i+4]
			d[0], d[1], d[2], d[3] = pcgOutput(h0, l0), pcgOutput(h1, l1), pcgOutput(h2, l2), pcgOutput(h3, l3)
			hi, lo = h3, l3
			h0, l0 = j.apply(h0, l0)
			h1, l1 = j.apply(h1, l1)
			h2, l2 = j.apply(h2, l2)
			h3, l3 = j.apply(h3, l3)
		}
	}
	for ; i < len(dst); i++ {
		hi, lo = pcgStep(hi, lo)
		dst[i] = pcgOutput(hi, lo)
	}
	p.hi, p.lo = hi, lo
}
