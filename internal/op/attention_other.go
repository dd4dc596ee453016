//go:build !amd64

package op

// shortCapable reports whether the short-sequence attention kernels exist: not here.
const shortCapable = false

func mulShortAVX512(m, n, k int, a *float32, lda, stepA int, b *float32, ldb int, c *float32, ldc int, alpha float32) {
	panic("op: no short attention kernels")
}

func transposeShortAVX512(l, dh int, k *float32, ldk int, kt *float32, lp int) {
	panic("op: no short attention kernels")
}

func softmaxRowsAVX512(m, l int, s *float32, lds int, p *float32, ldp int) {
	panic("op: no short attention kernels")
}

func softmaxGradRowsAVX512(m, l int, p *float32, ldp int, ds *float32, lds int, kept *float32) {
	panic("op: no short attention kernels")
}
