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

    $SPAGO_PEFT_VENV/bin/python integration/bert/testdata/make_task_fixtures.py [OUT.json]

writes tasks.json here, or OUT.json (the live test compares a fresh run with the committed file).
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
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "tasks.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
