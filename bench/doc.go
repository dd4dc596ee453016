// Package bench holds the Go side of the speed and memory comparison with PyTorch and ONNX
// Runtime: benchmarks of the matrix kernel, of each adapter against the bare linear layer, of
// whole training steps and of inference with merged adapters on BERT shapes (bert-tiny, MiniLM,
// bert-base), and of one SST-2 epoch per fine-tuning method through the real trainer
// (BenchmarkEpoch). Training and inference benchmarks report the peak RSS of their configuration.
// pytorch_compare.py runs the same configurations in PyTorch (1 and 2 threads), ONNX Runtime and
// these benchmarks in one invocation and prints the ratios; RESULTS.md is its output.
// BenchmarkLevers measures a performance lever of internal/op as the ratio of alternating passes
// with it on and off in one process; LEVERS.md has its figures.
//
// The package has no API: everything is in its _test.go files. Run
//
//	go test ./bench -run '^$' -bench . -benchmem
//	$SPAGO_PEFT_VENV/bin/python bench/pytorch_compare.py --quick # every row, end to end
package bench
