//go:build openblas && cgo

package gemm

import "github.com/spago-peft/spago-peft/internal/gemm/blas"

func init() {
	benchImpls["openblas"] = blas.Sgemm
}
