package dataset

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	a, b := Order(100, 7, 0), Order(100, 7, 0)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed and epoch gave different orders")
	}
	if reflect.DeepEqual(a, Order(100, 7, 1)) || reflect.DeepEqual(a, Order(100, 8, 0)) {
		t.Error("another epoch or seed gave the same order")
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("order is not a permutation of [0, 100): %v", a)
		}
	}
	// Pinned so that a change of generator, which would silently change every training run, fails.
	if got, want := Order(8, 42, 3), []int{3, 7, 4, 5, 2, 0, 6, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order(8, 42, 3) = %v, want %v", got, want)
	}
}

func TestBatches(t *testing.T) {
	tests := []struct {
		n, size int
		want    [][]int
	}{
		{0, 3, [][]int{}},
		{5, 2, [][]int{{0, 1}, {2, 3}, {4}}},
		{4, 2, [][]int{{0, 1}, {2, 3}}},
		{3, 8, [][]int{{0, 1, 2}}},
	}
	for _, tt := range tests {
		order := make([]int, tt.n)
		for i := range order {
			order[i] = i
		}
		if got := Batches(order, tt.size); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Batches(%d, %d) = %v, want %v", tt.n, tt.size, got, tt.want)
		}
	}
}

func TestShuffle(t *testing.T) {
	in := []string{"a", "b", "c", "d", "e", "f"}
	got := Shuffle(in, 1)
	if !reflect.DeepEqual(got, Shuffle(in, 1)) {
		t.Error("same seed gave different shuffles")
	}
	if reflect.DeepEqual(got, in) || !reflect.DeepEqual(slices.Sorted(slices.Values(got)), in) {
		t.Errorf("Shuffle = %v: not a reordering of %v", got, in)
	}
}

func TestLabels(t *testing.T) {
	examples := []Example{{Text: "a", Label: 0}, {Text: "b", Label: 2}, {Text: "c", Label: 1}}
	if n := NumLabels(examples); n != 3 {
		t.Errorf("NumLabels = %d, want 3", n)
	}
	if NumLabels(nil) != 0 {
		t.Error("NumLabels(nil) != 0")
	}
	if err := CheckLabels(examples, 3); err != nil {
		t.Error(err)
	}
	err := CheckLabels(examples, 2)
	if !errors.Is(err, ErrLabelRange) {
		t.Fatalf("error %v does not wrap ErrLabelRange", err)
	}
	if want := "dataset: label out of range: example 1: label 2 but the model has 2 labels"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	examples[1].File, examples[1].Line = "train.tsv", 17
	if want := "dataset: label out of range: train.tsv:17: label 2 but the model has 2 labels"; CheckLabels(examples, 2).Error() != want {
		t.Errorf("error %q, want %q", CheckLabels(examples, 2), want)
	}
}
