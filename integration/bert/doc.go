// Package bert runs an encoder of the BERT family with parameter-efficient adapters over the
// weights of a Hugging Face checkpoint, for sequence classification: BERT, RoBERTa, XLM-RoBERTa,
// DistilBERT and ELECTRA (checkpoint.Architectures), one encoder with their few differences
// (module names, RoBERTa's positions offset by padding_idx + 1, DistilBERT's missing token
// types, ELECTRA's embedding projection, and the heads: BERT's pooler and classifier,
// RobertaClassificationHead, DistilBERT's pre_classifier with ReLU, ElectraClassificationHead).
//
// The encoder is written here in matrix form instead of reusing cybertron's, whose backward pass
// deadlocks (spago's multi-head attention aliases its Concat buffer). The tokens of a sequence
// are the rows of one matrix, and the sequences of a batch are stacked one after the other
// without padding: attention runs per sequence (op.Attention), which gives the real tokens of a
// padded batch with an attention mask exactly, without computing the padding. The query, key and
// value projections are full hidden×hidden matrices as in Hugging Face, so one adapter per
// projection serves all heads and module names are those of PEFT ("encoder.layer.0.attention.self.query",
// "transformer.layer.0.attention.q_lin"; adapter files carry the base model's prefix, "bert.",
// "roberta.", "distilbert.", "electra.").
//
// A forward pass keeps the cores busy by giving each one a part of the work to do alone: in
// evaluation mode a batch's sequences are split among the free cores (inParts), a lone
// sequence's rows too, the parts meeting once per layer for the keys and values (encodeRows);
// Logits computes the last layer for each sequence's first token only, the one its head reads
// (encodeFirst). None of this changes a bit of the results (TestShortcutsSameBits);
// SetBatchSplit, SetRowSplit and SetFirstTokensOnly switch them off for benchmarks.
//
// Every weight of the checkpoint is frozen; the adapters chosen by Options.Targets and the
// classification head (PEFT's modules_to_save) are trained, or every weight with
// Options.FullFineTune.
package bert
