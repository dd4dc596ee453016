// Package bench holds the Go side of the speed comparison with PyTorch: benchmarks of the matrix
// kernel, of each adapter against the bare linear layer, of whole training steps and of inference
// with merged adapters, on BERT shapes. pytorch_compare.py runs the same configurations in
// PyTorch and these benchmarks in one invocation and prints the ratios; RESULTS.md is its output.
//
// The package has no API: everything is in its _test.go files. Run
//
//	go test ./bench -run '^$' -bench . -benchmem
package bench
