"""interop.py's checks on DeBERTa-v2 (integration/bert/testdata/tiny-deberta-*), run by
TestLiveTinyDeberta.

    python deberta.py go-to-peft BASE BATCH.json CASES_DIR OUT.json
        interop.py go-to-peft on an already tokenised batch: PEFT loads each Go adapter, the merged
        export loads in DebertaV2ForSequenceClassification and AutoModelForSequenceClassification,
        and PEFT continues training each adapter.
    python deberta.py peft-to-go BASE BATCH.json OUT_DIR
        interop.py peft-to-go with recipes for DeBERTa-v2: PEFT's default targets for model_type
        deberta-v2 (query_proj, value_proj), all-linear, and the key projection that the
        disentangled attention also applies to the relative-position embeddings (key_proj, and
        pos_key_proj where BASE's share_att_key is off).
"""

import json
import logging
import os
import sys

import interop


def deberta_recipes(base):
    from peft import HRAConfig, LoraConfig, OFTConfig

    with open(os.path.join(base, "config.json")) as f:
        config = json.load(f)
    seq = {"task_type": "SEQ_CLS"}
    recipes = {
        "lora-default-targets": (LoraConfig(r=4, lora_alpha=8, **seq), None),
        "lora-all-linear": (LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", **seq), None),
        "hra-default-targets": (HRAConfig(r=4, **seq), None),
        "hra-qkv-dense": (HRAConfig(r=2, target_modules=["query_proj", "key_proj", "value_proj", "dense"], **seq), None),
        "oft-default-targets": (OFTConfig(oft_block_size=8, r=0, **seq), None),
        "oft-exact-key": (OFTConfig(oft_block_size=8, r=0, use_cayley_neumann=False, target_modules=["key_proj"], **seq), None),
    }
    if not config.get("share_att_key", False):
        recipes["lora-pos-key"] = (LoraConfig(r=2, lora_alpha=4, target_modules=["pos_key_proj"], **seq), None)
    return recipes


def main(argv):
    logging.getLogger("transformers").setLevel(logging.WARNING)
    commands = {
        "go-to-peft": interop.go_to_peft,
        "peft-to-go": lambda base, batch, out: interop.peft_to_go(base, batch, out, deberta_recipes(base)),
    }
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
