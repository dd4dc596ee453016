// Package bert runs a BERT encoder with parameter-efficient adapters over the weights of a
// Hugging Face checkpoint, for sequence classification.
//
// The encoder is written here in matrix form instead of reusing cybertron's, whose backward pass
// deadlocks (spago's multi-head attention aliases its Concat buffer). The tokens of a sequence
// are the rows of one matrix, and the sequences of a batch are stacked one after the other
// without padding: attention runs per sequence (op.Attention), which gives the real tokens of a
// padded batch with an attention mask exactly, without computing the padding. The query, key and
// value projections are full hidden×hidden matrices as in Hugging Face, so one adapter per
// projection serves all heads and module names are those of PEFT ("encoder.layer.0.attention.self.query").
//
// Every weight of the checkpoint is frozen; the adapters chosen by Options.Targets and the
// classification head (pooler and classifier, PEFT's modules_to_save) are trained, or every weight
// with Options.FullFineTune.
package bert
