"""Live check that adapters Go trained for the tasks beyond sequence classification load in the
real PEFT with the logits Go computes: a token classifier (task_type TOKEN_CLS, loaded onto
AutoModelForTokenClassification) and a regression head (SEQ_CLS with one label, loaded onto
AutoModelForSequenceClassification with num_labels=1, problem_type "regression"). Run by
TestLiveTasks (tasks_test.go) when SPAGO_PEFT_VENV is set; its output becomes the committed
fixture testdata/tasks.json with the adapters under testdata/tasks/.

    python tasks.py go-to-peft BASE CASES_DIR OUT.json
        For every CASES_DIR/<case>/case.json ({"num_labels", "token_classification",
        "input_ids", "token_type_ids"}): load <case>/adapter with PeftModel.from_pretrained,
        recording every warning and the missing/unexpected adapter keys, and the logits on the
        inputs padded into one batch (per token, unpadded, for a token classifier).
"""

import json
import os
import sys

import torch

from interop import captured_warnings, write_json


def pad(rows, value):
    n = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (n - len(r)) for r in rows])


def go_to_peft(base, cases_dir, out):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    results = {}
    for name in sorted(os.listdir(cases_dir)):
        with open(os.path.join(cases_dir, name, "case.json")) as f:
            case = json.load(f)
        cls = AutoModelForTokenClassification if case["token_classification"] else AutoModelForSequenceClassification
        torch.manual_seed(0)  # the head drawn here is replaced by the adapter file's
        model = cls.from_pretrained(base, num_labels=case["num_labels"], ignore_mismatched_sizes=True)
        adapter = os.path.join(cases_dir, name, "adapter")
        with captured_warnings() as messages:
            peft_model = PeftModel.from_pretrained(model, adapter)
        probe = peft_model.load_adapter(adapter, adapter_name="probe")
        missing = sorted(k for k in probe.missing_keys if ".probe" in k)
        unexpected = sorted(probe.unexpected_keys)
        peft_model.delete_adapter("probe")
        peft_model.set_adapter("default")
        peft_model.eval()
        ids = case["input_ids"]
        enc = {
            "input_ids": pad(ids, 0),
            "attention_mask": pad([[1] * len(r) for r in ids], 0),
            "token_type_ids": pad(case["token_type_ids"], 0),
        }
        with torch.no_grad():
            logits = peft_model(**enc).logits.double()
        if case["token_classification"]:
            logits = [logits[i, : len(r)].tolist() for i, r in enumerate(ids)]
        else:
            logits = logits.tolist()
        results[name] = {
            "load": {"warnings": messages, "missing_keys": missing, "unexpected_keys": unexpected},
            "task_type": str(peft_model.peft_config["default"].task_type),
            "logits": logits,
        }
    import peft
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    write_json(out, {"cases": results, "versions": versions})


def main(argv):
    if len(argv) != 5 or argv[1] != "go-to-peft":
        sys.exit(__doc__)
    go_to_peft(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
