package op

import "golang.org/x/sys/cpu"

// shortCapable reports whether the CPU can run the kernels of attention_amd64.s.
var shortCapable = cpu.X86.HasAVX512F

// mulShortAVX512 sets c[i][j] = alpha·Σ_p a[i·lda+p·stepA]·b[p][j] for i < m and j < n, n a
// multiple of 32, k ≥ 1; ldb and ldc are row strides, all in elements.
//
//go:noescape
func mulShortAVX512(m, n, k int, a *float32, lda, stepA int, b *float32, ldb int, c *float32, ldc int, alpha float32)

// transposeShortAVX512 sets kt[c·lp+j] = k[j·ldk+c] for c < dh (a multiple of 16) and j < l;
// kt[c·lp+j] for l ≤ j < lp (a multiple of 16) is some key's value, not to be read.
//
//go:noescape
func transposeShortAVX512(l, dh int, k *float32, ldk int, kt *float32, lp int)

// softmaxRowsAVX512 sets row i of p (stride ldp) to the softmax of the first l values of row i
// of s (stride lds), for i < m, m ≥ 1.
//
//go:noescape
func softmaxRowsAVX512(m, l int, s *float32, lds int, p *float32, ldp int)

// softmaxGradRowsAVX512 sets row i of ds (stride lds) to softmax's backward pass for the
// probabilities of row i of p (stride ldp) and the gradient ds[i][:l], first multiplied by
// kept's row i (stride ldp) unless kept is nil, for i < m, m ≥ 1.
//
//go:noescape
func softmaxGradRowsAVX512(m, l int, p *float32, ldp int, ds *float32, lds int, kept *float32)
