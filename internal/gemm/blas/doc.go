// Package blas calls OpenBLAS's cblas_sgemm and cblas_dgemm through cgo. It is built only with
// the openblas build tag (and cgo, and Debian's libopenblas-dev or an equivalent installed);
// with that tag package gemm uses it as its backend, and its benchmarks compare against it.
package blas
