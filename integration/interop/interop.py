"""Live checks of spago-peft's adapter files and merged exports against the real Hugging Face
PEFT and transformers, run by integration/interop's Go tests (TestLive*) when SPAGO_PEFT_VENV
points at the environment made by integration/pyref/setup.sh. Its JSON outputs and the adapter
directories it writes become the committed fixtures (see regenerate.sh).

    python interop.py versions OUT.json
    python interop.py go-to-peft BASE SENTENCES CASES_DIR OUT.json
        For every CASES_DIR/<case>: load <case>/adapter (written by Go) with
        PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(BASE), ...),
        recording every warning and the missing/unexpected adapter keys, and its logits; load the
        merged export <case>/merged with its own class (BertForSequenceClassification, …) and
        AutoModelForSequenceClassification (loading info and logits); continue training the adapter
        in PEFT for a few steps, save it to <case>/peft and record the logits of that file.
    python interop.py peft-to-go BASE SENTENCES OUT_DIR
        Create adapters with PEFT's common recipes (those of BERT, or for another model type of
        the family, family_recipes), train them a few steps, save them to OUT_DIR/<recipe> and
        record PEFT's logits of each saved file in OUT_DIR/expected.json.
    python interop.py neumann-017 BASE SENTENCES OUT_DIR
        Run with PEFT 0.17.1 on PYTHONPATH (regenerate.sh installs it into a temporary directory):
        an OFT adapter with the Neumann series of PEFT < 0.18, which Go must refuse.

Logits are computed on a padded batch of SENTENCES (one per line), so the attention mask counts; a
SENTENCES ending in .json holds that batch already tokenised (see batch_of).
"""

import contextlib
import json
import logging
import os
import sys
import warnings

import torch

STEPS = 4  # optimiser steps of each training, enough to move every adapter off its start
LR = 0.05


def read_sentences(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(f"{record.name} {record.levelname}: {record.getMessage()}")


@contextlib.contextmanager
def captured_warnings():
    """Collects Python warnings and WARNING records of the transformers and peft loggers."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("transformers", "peft")]
    for logger in loggers:
        logger.addHandler(handler)
    messages = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        messages.extend(handler.messages)


def model_type(base):
    with open(os.path.join(base, "config.json")) as f:
        return json.load(f)["model_type"]


def encode(base, sentences):
    """The padded batch of the base's tokenizer: BertTokenizer for BERT (vocab.txt), the
    tokenizer.json of the other architectures through AutoTokenizer."""
    from transformers import AutoTokenizer, BertTokenizer

    cls = BertTokenizer if model_type(base) == "bert" else AutoTokenizer
    tok = cls.from_pretrained(base)
    enc = tok(sentences, padding=True, truncation=True, max_length=32, return_tensors="pt")
    assert enc["attention_mask"].min() == 0, "the batch must be padded"
    return enc


def batch_of(base, path):
    """The padded batch to compute logits on: SENTENCES tokenised by BASE's tokenizer, or, for a
    .json file, its "input_ids" and "attention_mask" as they are (already tokenised)."""
    if not path.endswith(".json"):
        return encode(base, read_sentences(path))
    with open(path) as f:
        batch = json.load(f)
    return {k: torch.tensor(batch[k]) for k in ("input_ids", "attention_mask")}


def logits_of(model, enc):
    model.eval()
    with torch.no_grad():
        return model(**enc).logits.float().tolist()


def load_base(base, num_labels=None):
    from transformers import AutoModelForSequenceClassification

    kwargs = {} if num_labels is None else {"num_labels": num_labels}
    torch.manual_seed(0)  # a base without a classifier draws one; the adapter file replaces it
    return AutoModelForSequenceClassification.from_pretrained(base, **kwargs)


def load_peft(base, adapter_dir, num_labels=None, trainable=False):
    """PeftModel.from_pretrained with every warning recorded, and PEFT's own key check."""
    from peft import PeftModel

    model = load_base(base, num_labels)
    with captured_warnings() as messages:
        peft_model = PeftModel.from_pretrained(model, adapter_dir, is_trainable=trainable)
    # from_pretrained warns about missing adapter keys only; load the file again under a probe
    # name to see unexpected keys too.
    probe = peft_model.load_adapter(adapter_dir, adapter_name="probe")
    missing = sorted(k for k in probe.missing_keys if ".probe" in k)
    unexpected = sorted(probe.unexpected_keys)
    peft_model.delete_adapter("probe")
    peft_model.set_adapter("default")
    return peft_model, {"warnings": messages, "missing_keys": missing, "unexpected_keys": unexpected}


def train(model, enc, labels, steps=STEPS):
    torch.manual_seed(1)
    params = [p for p in model.parameters() if p.requires_grad]
    assert params, "nothing to train"
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        out = model(**enc, labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()


def labels_for(n, num_labels):
    return torch.tensor([i % num_labels for i in range(n)])


def versions(out):
    import peft
    import safetensors
    import tokenizers
    import transformers

    data = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
        "tokenizers": tokenizers.__version__,
        "python": sys.version.split()[0],
    }
    write_json(out, data)


def go_to_peft(base, sentences_path, cases_dir, out):
    import transformers
    from transformers import AutoModelForSequenceClassification

    enc = batch_of(base, sentences_path)
    results = {"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(), "cases": {}}
    for case in sorted(os.listdir(cases_dir)):
        case_dir = os.path.join(cases_dir, case)
        adapter = os.path.join(case_dir, "adapter")
        with open(os.path.join(case_dir, "merged", "config.json")) as f:
            num_labels = len(json.load(f)["id2label"])
        model, loading = load_peft(base, adapter, num_labels)
        result = {"load": loading, "logits": logits_of(model, enc)}

        merged = {}
        with open(os.path.join(case_dir, "merged", "config.json")) as f:
            own_class = getattr(transformers, json.load(f)["architectures"][0])  # BertForSequenceClassification, …
        for cls in (own_class, AutoModelForSequenceClassification):
            with captured_warnings() as messages:
                m, info = cls.from_pretrained(os.path.join(case_dir, "merged"), output_loading_info=True)
            merged[cls.__name__] = {
                "missing_keys": sorted(info["missing_keys"]),
                "unexpected_keys": sorted(info["unexpected_keys"]),
                "mismatched_keys": sorted(str(k) for k in info["mismatched_keys"]),
                "warnings": messages,
                "logits": logits_of(m, enc),
            }
        result["merged"] = merged

        model, _ = load_peft(base, adapter, num_labels, trainable=True)
        train(model, enc, labels_for(len(enc["input_ids"]), num_labels))
        continued = os.path.join(case_dir, "peft")
        save(model, continued)
        again, loading = load_peft(base, continued, num_labels)
        result["continued"] = {"load": loading, "logits": logits_of(again, enc)}
        results["cases"][case] = result
        print(f"go-to-peft {case}: ok", file=sys.stderr)
    write_json(out, results)


def peft_recipes():
    """PEFT's common recipes for BERT sequence classification, with what Go must do with each:
    None to load and give PEFT's logits, or a substring of the error it must fail with. An
    oft_block_size of 6 is adjusted by PEFT to the layers it does not divide (tiny BERT's 32, 64)."""
    from peft import HRAConfig, LoraConfig, OFTConfig

    seq = {"task_type": "SEQ_CLS"}
    return {
        "lora-query-value": (LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], **seq), None),
        "lora-qkv-dense-pooler": (LoraConfig(r=4, lora_alpha=8, target_modules=["query", "key", "value", "dense"], **seq), None),
        "lora-all-linear": (LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", **seq), None),
        "lora-regex": (LoraConfig(r=2, lora_alpha=4, target_modules=r".*\.layer\.1\..*\.(query|value)", **seq), None),
        "lora-no-task-type": (LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]), None),
        "lora-all-linear-no-task-type": (LoraConfig(r=4, target_modules="all-linear"), "classifier"),
        "lora-bf16-gaussian": (LoraConfig(r=4, lora_alpha=8, init_lora_weights="gaussian", target_modules=["query", "value"], **seq), None),
        "lora-init-false-r40-rslora": (LoraConfig(r=40, lora_alpha=8, init_lora_weights=False, use_rslora=True, target_modules=["key"], **seq), None),
        "hra-all-linear": (HRAConfig(r=4, target_modules="all-linear", **seq), None),
        "hra-gs-dense": (HRAConfig(r=2, apply_GS=True, target_modules=["dense"], **seq), None),
        "oft-neumann-dense": (OFTConfig(oft_block_size=8, r=0, target_modules=["dense"], **seq), None),
        "oft-exact-block-share": (OFTConfig(oft_block_size=8, r=0, use_cayley_neumann=False, block_share=True, target_modules=["query", "value"], **seq), None),
        "oft-coft": (OFTConfig(r=4, oft_block_size=0, coft=True, eps=1e-2, use_cayley_neumann=False, target_modules=["query", "value"], **seq), None),
        "oft-block-size-adjusted": (OFTConfig(oft_block_size=6, r=0, target_modules=["query"], **seq), None),
    }


def family_recipes(kind):
    """PEFT's common recipes on another member of the BERT family: PEFT's default targets of the
    model type (DistilBERT has none: q_lin and v_lin are given), all-linear (which takes ELECTRA's
    embeddings_project; on DistilBERT, PEFT 0.21 fails with all-linear and SEQ_CLS, since it adapts
    pre_classifier and then wraps it as a module to save, "classifier" being a suffix of its name:
    its six encoder linear layers are named instead), and no task_type."""
    from peft import HRAConfig, LoraConfig, OFTConfig

    seq = {"task_type": "SEQ_CLS"}
    default = {"target_modules": ["q_lin", "v_lin"]} if kind == "distilbert" else {}
    qv = ["q_lin", "v_lin"] if kind == "distilbert" else ["query", "value"]
    linears = ["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"] if kind == "distilbert" else "all-linear"
    return {
        "lora-default-targets": (LoraConfig(r=4, lora_alpha=8, **default, **seq), None),
        "hra-all-linear": (HRAConfig(r=4, target_modules=linears, **seq), None),
        "oft-neumann-default-targets": (OFTConfig(oft_block_size=8, r=0, **default, **seq), None),
        "lora-no-task-type": (LoraConfig(r=4, lora_alpha=8, target_modules=qv), None),
    }


def peft_to_go(base, sentences_path, out_dir, recipes=None):
    """recipes, by name: (PEFT config, None or the error Go must give); by default those of the
    base's model type (peft_recipes, family_recipes)."""
    from peft import get_peft_model

    enc = batch_of(base, sentences_path)
    base_logits = logits_of(load_base(base), enc)
    expected = {"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(),
                "base_logits": base_logits, "recipes": {}}
    if recipes is None:
        kind = model_type(base)
        recipes = peft_recipes() if kind == "bert" else family_recipes(kind)
    for name, (config, error) in recipes.items():
        torch.manual_seed(2)
        model = get_peft_model(load_base(base), config)
        train(model, enc, labels_for(len(enc["input_ids"]), model.config.num_labels))
        if "bf16" in name:
            for n, p in model.named_parameters():
                if "lora_" in n:
                    p.data = p.data.to(torch.bfloat16)
        path = os.path.join(out_dir, name)
        save(model, path)
        entry = {}
        if error is not None:
            entry["error"] = error
        else:
            again, loading = load_peft(base, path)
            entry["load"] = loading
            entry["logits"] = logits_of(again, enc)
        expected["recipes"][name] = entry
        print(f"peft-to-go {name}: ok", file=sys.stderr)
    write_json(os.path.join(out_dir, "expected.json"), expected)


def neumann_017(base, sentences_path, out_dir):
    import peft
    from peft import OFTConfig, get_peft_model

    assert peft.__version__.startswith("0.17"), f"run with PEFT 0.17 on PYTHONPATH, not {peft.__version__}"
    sentences = read_sentences(sentences_path)
    enc = encode(base, sentences)
    torch.manual_seed(2)
    model = get_peft_model(load_base(base), OFTConfig(oft_block_size=8, r=0, use_cayley_neumann=True,
                                                      num_cayley_neumann_terms=5, target_modules=["query", "value"], task_type="SEQ_CLS"))
    train(model, enc, labels_for(len(sentences), model.config.num_labels))
    path = os.path.join(out_dir, "oft-neumann-peft-0.17")
    save(model, path)
    write_json(os.path.join(path, "made-by.json"), {"peft": peft.__version__, "logits": logits_of(model, enc)})


def save(model, path):
    """save_pretrained, without the model card (README.md) it writes beside the adapter."""
    model.save_pretrained(path)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(path, "README.md"))


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


def main(argv):
    logging.getLogger("transformers").setLevel(logging.WARNING)
    commands = {"versions": versions, "go-to-peft": go_to_peft, "peft-to-go": peft_to_go, "neumann-017": neumann_017}
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
