// Package train fine-tunes a sequence classifier: mini-batch AdamW with decoupled weight decay,
// linear warm-up and decay of the learning rate, global-norm gradient clipping, a fused
// softmax-cross-entropy loss, data parallelism across goroutines and periodic evaluation.
//
// The same trainer takes the tasks of transformers' other heads: a model with one output is a
// regression model (mean squared error against Example.Score; Pearson and Spearman), and examples
// with per-token Tags train a TokenClassifier (cross-entropy over the tagged tokens, -100 ignored;
// token accuracy and seqeval's entity F1). Encode tokenises sentences and sentence pairs,
// EncodeTokens words with tags, aligned to word pieces as transformers' token-classification
// example does.
//
// The trainer sees the model only through the Classifier interface, which *bert.Model satisfies,
// so any spago model that maps token sequences to class logits can be trained. Training is
// reproducible: the example order is drawn from Options.Seed, and with the same seed, options and
// model the loss curve is the same bit for bit (see Fit for the one caveat of data parallelism).
//
// The optimiser, schedule and clipping follow PyTorch's torch.optim.AdamW,
// transformers' get_linear_schedule_with_warmup and torch.nn.utils.clip_grad_norm_, and are
// checked against numbers PyTorch computed (testdata/make_fixtures.py).
package train
