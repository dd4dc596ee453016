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
        inputs padded into one batch (per token, unpadded, for a token classifier); and, when there
        is one, the merged export <case>/merged with the same Auto class (loading info, logits, the
        architectures and id2label its config names). BASE is tiny-bert or a tiny checkpoint of the family.
    python tasks.py peft-to-go BASE OUT_DIR
        Make a TOKEN_CLS LoRA adapter and a regression (num_labels=1) HRA adapter with PEFT's own
        get_peft_model, train each a few steps on fixed inputs (token labels with -100, float
        scores), save them to OUT_DIR/<case>/adapter with their case.json, and record the logits
        of the saved files in OUT_DIR/expected.json, in go-to-peft's layout.
"""

import json
import os
import sys

import torch

from interop import captured_warnings, save, write_json


def pad(rows, value):
    n = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (n - len(r)) for r in rows])


def batch_of(base, ids, types):
    """ids and types padded into one batch for the base's model: padded with its pad token, token
    types only where the model takes them (not DistilBERT)."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(base)
    enc = {"input_ids": pad(ids, cfg.pad_token_id or 0), "attention_mask": pad([[1] * len(r) for r in ids], 0)}
    if cfg.model_type != "distilbert":
        enc["token_type_ids"] = pad(types, 0)
    return enc


def logits_of(model, case, base):
    """The model's logits of the case's inputs padded into one batch: per token, unpadded, for a
    token classifier."""
    ids = case["input_ids"]
    enc = batch_of(base, ids, case["token_type_ids"])
    model.eval()
    with torch.no_grad():
        logits = model(**enc).logits.double()
    if case["token_classification"]:
        return [logits[i, : len(r)].tolist() for i, r in enumerate(ids)]
    return logits.tolist()


def go_to_peft(base, cases_dir, out):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    results = {}
    for name in sorted(os.listdir(cases_dir)):
        if not os.path.isdir(os.path.join(cases_dir, name)):
            continue
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
        results[name] = {
            "load": {"warnings": messages, "missing_keys": missing, "unexpected_keys": unexpected},
            "task_type": str(peft_model.peft_config["default"].task_type),
            "logits": logits_of(peft_model, case, base),
        }
        merged = os.path.join(cases_dir, name, "merged")
        if os.path.isdir(merged):
            with captured_warnings() as messages:
                m, info = cls.from_pretrained(merged, output_loading_info=True)
            results[name]["merged"] = {
                "warnings": messages,
                "missing_keys": sorted(info["missing_keys"]),
                "unexpected_keys": sorted(info["unexpected_keys"]),
                "mismatched_keys": sorted(str(k) for k in info["mismatched_keys"]),
                "logits": logits_of(m, case, base),
                "architectures": m.config.architectures,
                "id2label": {str(k): v for k, v in m.config.id2label.items()},
            }
    import peft
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    write_json(out, {"cases": results, "versions": versions})


# The inputs of peft-to-go on tiny-bert: ids ([CLS]=2, [SEP]=3), pairs with token types, and
# the labels to train on (the same with DeBERTa's [CLS] and [SEP] on the tiny DeBERTa checkpoints);
# on the other members of the family, PEFT_SENTENCES encoded by the base's tokenizer, tagged alike.
PEFT_IDS = [[2, 5, 8, 37, 19, 3], [2, 21, 3, 22, 23, 3], [2, 9, 40, 41, 42, 43, 44, 3]]
PEFT_TYPES = [[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]]
PEFT_TAGS = [[-100, 0, 2, -100, 1, -100], [-100, 1, -100, 3, 4, -100], [-100, 2, -100, 0, -100, 1, 1, -100]]
PEFT_SCORES = [4.2, 0.5, 2.75]
PEFT_SENTENCES = ["a warm and funny film about growing up.", "dull.", "The plot is thin, but the actors make every scene count!"]


def peft_inputs(base):
    """The ids, token types and tags peft-to-go trains on for the base."""
    from transformers import AutoConfig, AutoTokenizer

    model_type = AutoConfig.from_pretrained(base).model_type
    if model_type == "bert":
        return PEFT_IDS, PEFT_TYPES, PEFT_TAGS
    if model_type == "deberta-v2":  # the tiny DeBERTa checkpoints ship no tokenizer: [CLS]=1, [SEP]=2
        return [[{2: 1, 3: 2}.get(i, i) for i in r] for r in PEFT_IDS], PEFT_TYPES, PEFT_TAGS
    enc = AutoTokenizer.from_pretrained(base)(PEFT_SENTENCES, return_token_type_ids=True)
    ids, types = enc["input_ids"], enc["token_type_ids"]
    tags = [[-100 if k in (0, len(r) - 1) else (i + k) % 5 for k in range(len(r))] for i, r in enumerate(ids)]
    return ids, types, tags


def peft_to_go(base, out_dir):
    from peft import HRAConfig, LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    qv = {"distilbert": ["q_lin", "v_lin"], "deberta-v2": ["query_proj", "value_proj"]}.get(
        AutoConfig.from_pretrained(base).model_type, ["query", "value"])
    recipes = {
        "peft-token-cls-lora": (AutoModelForTokenClassification, 5,
                                LoraConfig(task_type="TOKEN_CLS", r=4, lora_alpha=8, target_modules=qv)),
        "peft-regression-hra": (AutoModelForSequenceClassification, 1,
                                HRAConfig(task_type="SEQ_CLS", r=2, target_modules=qv)),
    }
    ids, types, tags = peft_inputs(base)
    enc = batch_of(base, ids, types)
    for name, (cls, num_labels, config) in recipes.items():
        torch.manual_seed(2)
        model = get_peft_model(cls.from_pretrained(base, num_labels=num_labels, ignore_mismatched_sizes=True), config)
        token = cls is AutoModelForTokenClassification
        labels = pad(tags, -100) if token else torch.tensor(PEFT_SCORES)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=0.05, weight_decay=0.0)
        model.train()
        for _ in range(4):
            model(**enc, labels=labels).loss.backward()
            opt.step()
            opt.zero_grad()
        os.makedirs(os.path.join(out_dir, name))
        save(model, os.path.join(out_dir, name, "adapter"))
        write_json(os.path.join(out_dir, name, "case.json"), {
            "num_labels": num_labels, "token_classification": token, "input_ids": ids, "token_type_ids": types})
    go_to_peft(base, out_dir, os.path.join(out_dir, "expected.json"))


def main(argv):
    commands = {"go-to-peft": (go_to_peft, 3), "peft-to-go": (peft_to_go, 2)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) != 2 + commands[argv[1]][1]:
        sys.exit(__doc__)
    commands[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
