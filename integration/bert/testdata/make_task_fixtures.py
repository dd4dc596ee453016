"""Writes tasks.json: what the real transformers gives, in float64 and without dropout, for the
checkpoint package's tiny-bert (../../checkpoint/testdata/tiny-bert) on the tasks beyond single
sentences, for the Go tests of integration/bert and integration/train:

  token       BertForTokenClassification (tiny-bert's 3-row classifier as its token head) on a
              padded batch: the logits of every unpadded token, and the loss for per-token labels
              with -100 on the ignored tokens (transformers' mean over the others).
  pairs       BertForSequenceClassification (tiny-bert's own 3-label head) on the same batch of
              sentence pairs with token types: the logits.
  regression  BertForSequenceClassification with num_labels=1 (problem_type "regression"; the
              head is row 0 of tiny-bert's classifier) on a batch of sentence pairs with token
              types: the logits and the MSE loss against float labels.

and, for each tiny checkpoint of the rest of the family (../../checkpoint/testdata/tiny-<model_type>,
RoBERTa, XLM-R, DistilBERT, ELECTRA; and DeBERTa-v2's testdata/tiny-deberta-v3 and -proj),
tasks-<model_type>.json with the same three tasks through the
architecture's Auto classes, on batches its own tokenizer.json encodes and pads (pairs as that
tokenizer joins them: RoBERTa's <s> a </s></s> b </s>; token types only where the model takes them,
ELECTRA). The heads these classes draw (the token classifier, the one-output head) are seeded and
recorded in the file (head_weight [labels][hidden], head_bias), for Go to set the same.

    $SPAGO_PEFT_VENV/bin/python integration/bert/testdata/make_task_fixtures.py [OUT_DIR]

writes the files here, or into OUT_DIR (the live test compares a fresh run with the committed files).
"""

import json
import os
import sys

import torch
import transformers
from transformers import BertForSequenceClassification, BertForTokenClassification

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "..", "..", "checkpoint", "testdata", "tiny-bert")

# [CLS]=2 [SEP]=3 [PAD]=0; word ids 5..97.
TOKEN_IDS = [[2, 5, 8, 37, 19, 3], [2, 21, 3], [2, 9, 40, 41, 42, 43, 44, 3]]
TOKEN_LABELS = [[-100, 0, 2, -100, 1, -100], [-100, 1, -100], [-100, 2, -100, 0, -100, 1, 1, -100]]
PAIR_IDS = [[2, 5, 8, 3, 37, 19, 3], [2, 21, 3, 22, 23, 3], [2, 9, 40, 41, 3, 42, 43, 44, 3]]
PAIR_TYPES = [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1, 1]]
SCORES = [4.2, 0.5, 2.75]


def pad(rows, value):
    n = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (n - len(r)) for r in rows])


FAMILY = ["roberta", "xlm-roberta", "distilbert", "electra"]
SENTENCES = ["a warm and funny film about growing up.", "dull.",
             "The plot is thin, but the actors make every scene count!"]
PAIRS = [("a warm and funny film.", "dull."), ("dull.", "The plot is thin, but the actors make every scene count!"),
         ("It's neither as romantic nor as thrilling as it wants to be.", "a sharp, smart comedy.")]


def unpadded(rows, mask):
    return [[v for v, m in zip(r, mk) if m] for r, mk in zip(rows.tolist(), mask.tolist())]


# DeBERTa-v2's tiny checkpoints (testdata/tiny-deberta-*, written by make_tiny_deberta.py) ship no
# tokenizer: their batches are the ids above with DeBERTa's [CLS]=1 and [SEP]=2; token types on
# tiny-deberta-proj (type_vocab_size 2), none on tiny-deberta-v3 (type_vocab_size 0).
DEBERTA = {"deberta-v3": False, "deberta-proj": True}


def deberta_ids(rows):
    return [[{2: 1, 3: 2}.get(i, i) for i in r] for r in rows]


class FixedTokenizer:
    """tiny-bert's ids for DeBERTa, in the shape of a tokenizer's padded output."""

    def __init__(self, types):
        self.types = types

    def __call__(self, a, b=None, **kw):
        ids, types = (TOKEN_IDS, [[0] * len(r) for r in TOKEN_IDS]) if b is None else (PAIR_IDS, PAIR_TYPES)
        ids = deberta_ids(ids)
        return {"input_ids": pad(ids, 0), "attention_mask": pad([[1] * len(r) for r in ids], 0), "token_type_ids": pad(types, 0)}


def family_tasks(model_type):
    """The three tasks on tiny-<model_type> through transformers' Auto classes."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    if model_type in DEBERTA:
        tiny = os.path.join(HERE, "tiny-" + model_type)
        types = DEBERTA[model_type]
        tok = FixedTokenizer(types)
    else:
        tiny = os.path.join(HERE, "..", "..", "checkpoint", "testdata", "tiny-" + model_type)
        tok = AutoTokenizer.from_pretrained(tiny)
        types = model_type == "electra"  # the only one of these whose model takes token types
    out = {"model_type": model_type,
           "source": "transformers %s, torch %s" % (transformers.__version__, torch.__version__)}

    def run(model, enc, **kw):
        args = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if types:
            args["token_type_ids"] = enc["token_type_ids"]
        with torch.no_grad():
            return model(**args, **kw)

    def batch(enc):
        b = {"input_ids": unpadded(enc["input_ids"], enc["attention_mask"])}
        b["token_type_ids"] = unpadded(enc["token_type_ids"], enc["attention_mask"]) if types else None
        return b

    torch.manual_seed(7)
    model = AutoModelForTokenClassification.from_pretrained(tiny, torch_dtype=torch.float64).eval()
    assert type(model).__name__.endswith("ForTokenClassification")
    enc = tok(SENTENCES, padding=True, return_tensors="pt", return_token_type_ids=types)
    assert enc["attention_mask"].min() == 0, "the batch must hold padding"
    res = run(model, enc)
    out["token"] = dict(batch(enc), cls=type(model).__name__,
                        logits=[res.logits[i, : int(m.sum())].tolist() for i, m in enumerate(enc["attention_mask"])],
                        head_weight=model.classifier.weight.tolist(), head_bias=model.classifier.bias.tolist())

    enc = tok([a for a, _ in PAIRS], [b for _, b in PAIRS], padding=True, return_tensors="pt", return_token_type_ids=types)
    assert enc["attention_mask"].min() == 0
    seq = AutoModelForSequenceClassification.from_pretrained(tiny, torch_dtype=torch.float64).eval()
    out["pairs"] = dict(batch(enc), cls=type(seq).__name__, logits=run(seq, enc).logits.tolist())

    torch.manual_seed(8)
    reg = AutoModelForSequenceClassification.from_pretrained(tiny, torch_dtype=torch.float64, num_labels=1,
                                                             ignore_mismatched_sizes=True).eval()
    head = reg.classifier.out_proj if hasattr(reg.classifier, "out_proj") else reg.classifier
    res = run(reg, enc, labels=torch.tensor(SCORES, dtype=torch.float64))
    logits = res.logits.reshape(-1)  # DeBERTa's regression returns them flattened
    mse = torch.mean((logits - torch.tensor(SCORES)) ** 2)
    assert reg.config.num_labels == 1 and torch.allclose(res.loss, mse), "not transformers' regression"
    out["regression"] = dict(batch(enc), cls=type(reg).__name__, scores=SCORES, logits=logits.tolist(),
                             loss=res.loss.item(), head_weight=head.weight.tolist(), head_bias=head.bias.tolist())
    return out


def main():
    torch.set_default_dtype(torch.float64)
    out = {"source": "transformers %s, torch %s" % (transformers.__version__, torch.__version__)}

    tok = BertForTokenClassification.from_pretrained(TINY, torch_dtype=torch.float64).eval()
    ids, mask = pad(TOKEN_IDS, 0), pad([[1] * len(r) for r in TOKEN_IDS], 0)
    res = tok(input_ids=ids, attention_mask=mask, labels=pad(TOKEN_LABELS, -100))
    out["token"] = {
        "input_ids": TOKEN_IDS,
        "labels": TOKEN_LABELS,
        "logits": [res.logits[i, : len(r)].tolist() for i, r in enumerate(TOKEN_IDS)],
        "loss": res.loss.item(),
    }

    reg = BertForSequenceClassification.from_pretrained(TINY, torch_dtype=torch.float64, num_labels=1, ignore_mismatched_sizes=True).eval()
    seq = BertForSequenceClassification.from_pretrained(TINY, torch_dtype=torch.float64).eval()
    with torch.no_grad():
        reg.classifier.weight.copy_(seq.classifier.weight[:1])
        reg.classifier.bias.copy_(seq.classifier.bias[:1])
    assert reg.config.num_labels == 1
    ids, mask, types = pad(PAIR_IDS, 0), pad([[1] * len(r) for r in PAIR_IDS], 0), pad(PAIR_TYPES, 0)
    with torch.no_grad():
        out["pairs"] = {"input_ids": PAIR_IDS, "token_type_ids": PAIR_TYPES,
                        "logits": seq(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.tolist()}
    res = reg(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=torch.tensor(SCORES))
    assert reg.config.problem_type == "regression"
    out["regression"] = {
        "input_ids": PAIR_IDS,
        "token_type_ids": PAIR_TYPES,
        "scores": SCORES,
        "logits": res.logits[:, 0].tolist(),
        "loss": res.loss.item(),
    }
    dest = sys.argv[1] if len(sys.argv) > 1 else HERE
    with open(os.path.join(dest, "tasks.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for model_type in FAMILY + list(DEBERTA):
        with open(os.path.join(dest, "tasks-%s.json" % model_type), "w") as f:
            json.dump(family_tasks(model_type), f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
