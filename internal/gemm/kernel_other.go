//go:build !amd64

package gemm

// float32Blocking multiplies float32 matrices with the portable kernel.
var float32Blocking = newPortableBlocking[float32]()
