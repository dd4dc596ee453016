package bert

import (
	"fmt"

	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/internal/op"
)

// tokenTaskType is PEFT's task_type of a token classifier (BertForTokenClassification), which a
// model built with Options.TokenClassification is.
const tokenTaskType = "TOKEN_CLS"

// TokenLogits returns the logits of every token of the batch, one row per token, the sequences'
// tokens in order, as BertForTokenClassification computes them: the classifier on each token's
// last hidden state, after dropout in training mode. It fails for a model built without
// Options.TokenClassification, whose classifier is a sequence classifier's.
func (m *Model) TokenLogits(b Batch) (mat.Tensor, error) {
	if !m.tokens {
		return nil, fmt.Errorf("%w: bert: TokenLogits of a sequence classifier (build the model with TokenClassification)", ErrInvalidInput)
	}
	p, err := m.pack(b)
	if err != nil {
		return nil, err
	}
	return op.Linear(m.dropoutIfTraining(m.inParts(p, m.encode), p.drop.tokens), m.Classifier.W, m.Classifier.B), nil
}

// TokenClassification reports whether the model is a token classifier (Options.TokenClassification).
func (m *Model) TokenClassification() bool { return m.tokens }

// taskType is PEFT's task_type of the model: SEQ_CLS or TOKEN_CLS.
func (m *Model) taskType() string {
	if m.tokens {
		return tokenTaskType
	}
	return taskType
}
