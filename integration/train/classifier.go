package train

import (
	"fmt"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/spago-peft/spago-peft/integration/bert"
)

// Classifier is what Fit trains and Evaluate measures: a model that maps each sequence of a batch
// to one row of class logits. *bert.Model implements it.
type Classifier interface {
	// Logits returns the batch×labels logits as a node of spago's autograd graph, or an error for
	// a batch it cannot take. Fit calls it from several goroutines at once (Options.Workers), so
	// it must be safe for concurrent use.
	Logits(b bert.Batch) (mat.Tensor, error)
	// TrainableParams returns the parameters to optimise, in a fixed order.
	TrainableParams() []*nn.Param
	// Regularization returns a penalty to add to the training loss as a scalar node, or nil.
	Regularization() mat.Tensor
	// SetTraining switches training-only behaviour such as dropout on or off.
	SetTraining(on bool)
}

// Example is one tokenised, labelled sequence.
type Example struct {
	// IDs are the token IDs, special tokens included; TypeIDs, if not nil, their segment IDs.
	IDs, TypeIDs []int
	// Label is the class index.
	Label int
	// Score is the target of a regression model (one output column), such as a similarity.
	Score float64
	// Tags, for token classification, hold one label per token (dataset.IgnoreTag, −100, for the
	// tokens the loss ignores: special tokens and word pieces after a word's first); a set whose
	// first example has Tags is trained and evaluated per token (see TokenClassifier).
	Tags []int
}

// batchOf gathers the examples at idx into a batch and their labels.
func batchOf(examples []Example, idx []int) (bert.Batch, []int) {
	b := bert.Batch{IDs: make([][]int, len(idx)), TypeIDs: make([][]int, len(idx))}
	labels := make([]int, len(idx))
	for i, j := range idx {
		b.IDs[i], b.TypeIDs[i], labels[i] = examples[j].IDs, examples[j].TypeIDs, examples[j].Label
	}
	return b, labels
}

// modelError wraps an error of Logits with the examples it was called on.
func modelError(set string, idx []int, err error) error {
	const shown = 8
	if len(idx) > shown {
		return fmt.Errorf("%s examples %v… (%d in all): %w", set, idx[:shown], len(idx), err)
	}
	return fmt.Errorf("%s examples %v: %w", set, idx, err)
}
