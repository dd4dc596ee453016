package train

import "golang.org/x/sys/cpu"

// adamKernel is adamUpdate32, eight values at a time with AVX where the CPU has it.
var adamKernel = func() func(w, g, m, v []float32, c *adamConsts) {
	if !cpu.X86.HasAVX {
		return adamUpdate32
	}
	return adamUpdate32AVX
}()

// adamKernelReset is adamUpdate32Reset, eight values at a time with AVX where the CPU has it.
var adamKernelReset = func() func(w, g, m, v []float32, c *adamConsts, scale float64) {
	if !cpu.X86.HasAVX {
		return adamUpdate32Reset
	}
	return adamUpdate32ResetAVX
}()

// adamUpdate32ResetAVX runs adamStep8Reset on the leading multiple of 8 values and
// adamUpdate32Reset on the rest.
func adamUpdate32ResetAVX(w, g, m, v []float32, c *adamConsts, scale float64) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	if n8 := n &^ 7; n8 > 0 {
		adamStep8Reset(n8, &w[0], &g[0], &m[0], &v[0], c, scale)
	}
	adamUpdate32Reset(w[n&^7:], g[n&^7:], m[n&^7:], v[n&^7:], c, scale)
}

// adamStep8Reset is adamUpdate32Reset on n values, n a positive multiple of 8.
//
//go:noescape
func adamStep8Reset(n int, wp, gp, mp, vp *float32, c *adamConsts, scale float64)

// adamUpdate32AVX runs adamStep8 on the leading multiple of 8 values and adamUpdate32 on the rest.
func adamUpdate32AVX(w, g, m, v []float32, c *adamConsts) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	if n8 := n &^ 7; n8 > 0 {
		adamStep8(n8, &w[0], &g[0], &m[0], &v[0], c)
	}
	adamUpdate32(w[n&^7:], g[n&^7:], m[n&^7:], v[n&^7:], c)
}

// adamStep8 is adamUpdate32 on n values, n a positive multiple of 8, at wp, gp, mp and vp.
//
//go:noescape
func adamStep8(n int, wp, gp, mp, vp *float32, c *adamConsts)
