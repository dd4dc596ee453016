//go:build !amd64

package train

// adamKernel is adamUpdate32.
var adamKernel = adamUpdate32
