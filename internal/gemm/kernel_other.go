//go:build !amd64

package gemm

// float32Blocking multiplies float32 matrices with the portable kernel.
var float32Blocking = newPortableBlocking[float32]()

// SetAVX512 does nothing off amd64 and reports that AVX-512 was not selected (see the amd64
// version).
func SetAVX512(on bool) (was bool) { return false }

// float32Narrow is unset off amd64: one blocking for every product (see float32BlockingFor).
var float32Narrow *blocking[float32]

const narrowColumns = 0
