// Package checkpoint loads Hugging Face checkpoints of the BERT family (BERT,
// RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA: Architectures) into a plain,
// framework-neutral structure: the parsed config.json and every parameter as a
// row-major float32 tensor with its Hugging Face shape, keyed by its canonical
// Hugging Face name (the base model's names without its prefix, for example
// "encoder.layer.0.attention.self.query.weight" for "bert." or "roberta.",
// "transformer.layer.0.attention.q_lin.weight" for "distilbert.", plus the
// head's names as they are, "classifier.weight", "classifier.out_proj.weight",
// "pre_classifier.weight", when present).
//
// It reads model.safetensors (F32, F16, BF16, F64), pytorch_model.bin (the zip
// format of torch.save, float32/float16/bfloat16/float64 storages) and
// cybertron's converted spago_model.bin, and downloads checkpoints from the
// Hugging Face hub (or a mirror) into a local cache. Every failure is a
// wrapped sentinel error (ErrNotFound, ErrCorrupt, ErrShapeMismatch,
// ErrUnsupported, ErrUnauthorized, ErrDownload) that names the file or tensor.
package checkpoint
