package dataset

import "math/rand/v2"

// Order returns the order in which to visit n examples in an epoch: a permutation of [0, n)
// drawn from a PCG generator seeded with (seed, epoch), so each epoch has its own order and the
// same seed always gives the same orders.
func Order(n int, seed uint64, epoch int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// Batches cuts order into consecutive batches of size indices; the last batch holds the rest and
// may be shorter. It panics if size < 1.
func Batches(order []int, size int) [][]int {
	if size < 1 {
		panic("dataset: batch size must be at least 1")
	}
	batches := make([][]int, 0, (len(order)+size-1)/size)
	for from := 0; from < len(order); from += size {
		batches = append(batches, order[from:min(from+size, len(order))])
	}
	return batches
}

// Shuffle returns a copy of examples in an order drawn from seed, for example to hold out a
// random part of a training set.
func Shuffle[T any](examples []T, seed uint64) []T {
	out := make([]T, len(examples))
	for i, j := range Order(len(examples), seed, 0) {
		out[i] = examples[j]
	}
	return out
}
