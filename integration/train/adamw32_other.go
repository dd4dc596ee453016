//go:build !amd64

package train

// adamKernel is adamUpdate32.
var adamKernel = adamUpdate32

// adamKernelReset is adamUpdate32Reset.
var adamKernelReset = adamUpdate32Reset
