// Package finetune is the fine-tuning job that the examples run: it loads a base BERT (a local
// Hugging Face directory, a hub repository, or an offline default built on the spot), reads and
// tokenises GLUE-style sentence classification data, builds the model with the chosen adapter,
// trains it with integration/train and reports what a user wants to know: dev accuracy, trainable
// parameters, time per step and peak Go heap. Job.Task chooses the task: classification of
// sentences or pairs (Job.Columns), regression (STS-B style scores) or token classification
// (CoNLL files, BertForTokenClassification, PEFT's TOKEN_CLS). The tokenizer is the checkpoint's
// tokenizer.json, else spm.model, else vocab.txt (hfjson.Auto).
//
// Run does everything at once. Prepare and Setup.Train split it, so that several methods can be
// trained on one loaded base and one tokenised data set, as examples/compare does.
//
// The offline default base (Job.Model empty) is a small BERT whose weights are drawn at random
// (normal, standard deviation 0.02, as transformers initialises BERT) with a WordPiece vocabulary
// derived from the embedded sample data. It is not pretrained: it lets the examples run anywhere
// without a download, and accuracy on it says little about a method. Point Job.Model at a real
// checkpoint for meaningful numbers.
//
// Everything checkable is checked before the first step: the data (labels must number the
// classes densely from 0 unless Job.NumLabels declares them), the model, and, with
// CheckAdapterDir, the directory the adapter will be saved to. A run whose loss diverges stops
// with ErrDiverged. Saved adapters record their base (a local directory as an absolute path,
// with its name as given and its Fingerprint in the safetensors metadata), and LoadAdapter
// refuses one trained on another base (ErrBaseMismatch).
package finetune
