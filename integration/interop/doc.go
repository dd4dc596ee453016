// Package interop proves that adapters and merged exports move between this module and the real
// Hugging Face libraries, both ways. It has no code of its own, only tests:
//
//   - Go → PEFT: adapters trained in Go (HRA paired, random with odd r, Gram–Schmidt; LoRA
//     Kaiming, Gaussian, rsLoRA; OFT exact, Neumann, COFT, block sharing; on query and value, all
//     six encoder linear layers, and "dense" with the pooler) load with
//     PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(base), dir)
//     without warnings or missing and unexpected keys and give the Go logits; training continued
//     in PEFT saves files that Go loads back with PEFT's logits; the merged export loads in
//     BertForSequenceClassification and AutoModelForSequenceClassification with no missing key
//     and gives the same logits.
//   - PEFT → Go: adapters made and saved by PEFT with the common recipes (all-linear, pooler
//     targets, regular expressions, task_type set and unset, bf16 tensors, LoRA
//     init_lora_weights=false with r above the layer width, OFT's forms and a block size PEFT
//     adjusted to the layers) load in Go with PEFT's logits, or fail with an error naming what
//     is unsupported (classifier adapters, the Neumann series of PEFT 0.17).
//   - The other members of the BERT family (RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA; tiny
//     checkpoints written by transformers, ../checkpoint/testdata/make_tiny_family.py): the same
//     two directions with HRA, LoRA and OFT on each architecture's default targets and on every
//     linear layer (testdata/family/<model type>), and DistilBERT on a base without its head, where
//     transformers draws pre_classifier and classifier at random and the Go adapter carries both.
//   - DeBERTa-v2: the same checks both ways on the tiny random checkpoints of
//     integration/bert/testdata (tiny-deberta-v3 laid out as DeBERTa-v3; tiny-deberta-proj with
//     embed_proj, absolute positions and its own pos_key_proj), with PEFT's default targets for
//     deberta-v2, the key projections the disentangled attention also applies to the relative
//     embeddings, the pooler (outside the base model: base_model.model.pooler.dense) and
//     all-linear (deberta.py, testdata/deberta-*).
//   - cybertron: its own BertForSequenceClassification, loaded from a spago_model.bin written
//     from the merged export, gives the Go logits.
//
// Logits are compared to 1e-4 on a padded batch of real sentences (testdata/sentences.txt). The
// real libraries' outputs are committed in testdata with the versions that produced them
// (testdata/versions.json), so plain `go test` checks them without Python. With SPAGO_PEFT_VENV
// set to the environment of integration/pyref/setup.sh, the TestLive tests run interop.py against
// the real libraries, on the tiny test checkpoint and, when fetched, all-MiniLM-L6-v2;
// regenerate.sh rewrites the fixtures.
package interop
