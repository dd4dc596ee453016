package finetune

import (
	"fmt"
	"strings"
)

// Tasks a Job trains for, Job.Task.
const (
	// TaskClassify classifies sentences or sentence pairs (GLUE's SST-2, RTE, MRPC): a head of
	// NumLabels classes on the pooled output, cross-entropy loss, accuracy.
	TaskClassify = "classify"
	// TaskRegress predicts a real number for a sentence or pair (STS-B's similarity): one output,
	// as transformers' problem_type "regression", mean squared error, Pearson and Spearman.
	TaskRegress = "regress"
)

// ParseTask returns the task a name stands for: classify (also "" and "classification"),
// regress ("regression"), tokens ("token-classification", "ner").
func ParseTask(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", TaskClassify, "classification":
		return TaskClassify, nil
	case TaskRegress, "regression":
		return TaskRegress, nil
	case TaskTokens, "token-classification", "ner":
		return TaskTokens, nil
	}
	return "", fmt.Errorf("%w: unknown task %q: want %s, %s or %s", ErrInvalidJob, name, TaskClassify, TaskRegress, TaskTokens)
}
