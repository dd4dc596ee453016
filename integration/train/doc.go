// Package train fine-tunes a sequence classifier: mini-batch AdamW with decoupled weight decay,
// linear warm-up and decay of the learning rate, global-norm gradient clipping, a fused
// softmax-cross-entropy loss, data parallelism across goroutines and periodic evaluation.
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
