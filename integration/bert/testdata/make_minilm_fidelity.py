#!/usr/bin/env python3
"""Reference outputs of all-MiniLM-L6-v2 on the 872 SST-2 dev sentences, from real transformers.

    python make_minilm_fidelity.py MODEL_DIR DEV_TSV OUT_DIR [--all-hidden FILE]

Tokenises every sentence with BertTokenizerFast (the model's tokenizer.json) and runs BertModel in
evaluation mode, float32, in padded batches of 32 with an attention mask. Writes to OUT_DIR:

- dev_ids.json: the library versions, and each sentence with its token ids;
- dev_outputs.safetensors: the pooled output of every sentence ("pooled", 872×384), the norm of
  every token's last hidden state ("token_norms", one per token, sentences concatenated), and the
  whole last hidden state of the first 4 sentences ("hidden_head", their tokens × 384).

--all-hidden FILE also writes every sentence's last hidden state ("hidden", all tokens × 384, in
sentence order) for the live test, which compares everything; it is too large to commit. Run with
the venv of integration/pyref/setup.sh (the committed fixture: integration/bert/testdata/minilm).
"""

import argparse
import json
import os

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from safetensors.numpy import save_file
from transformers import BertModel, BertTokenizerFast

HEAD = 4  # sentences whose whole hidden state goes into the fixture
BATCH = 32


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("dev")
    p.add_argument("out")
    p.add_argument("--all-hidden", default="")
    a = p.parse_args()
    torch.set_num_threads(2)
    with open(a.dev, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("sentence")
        texts = [line.rstrip("\n").split("\t")[col] for line in f if line.strip()]
    tok = BertTokenizerFast.from_pretrained(a.model)
    model = BertModel.from_pretrained(a.model, add_pooling_layer=True).eval().float()
    ids_all, pooled, hidden = [], [], []
    with torch.inference_mode():
        for i in range(0, len(texts), BATCH):
            enc = tok(texts[i : i + BATCH], padding=True, truncation=True, max_length=512, return_tensors="pt")
            out = model(**enc)
            for j in range(enc["input_ids"].shape[0]):
                n = int(enc["attention_mask"][j].sum())
                ids_all.append(enc["input_ids"][j, :n].tolist())
                hidden.append(out.last_hidden_state[j, :n].numpy())
            pooled.append(out.pooler_output.numpy())
    os.makedirs(a.out, exist_ok=True)
    versions = dict(torch=torch.__version__, transformers=transformers.__version__,
                    tokenizers=tokenizers.__version__, safetensors=safetensors.__version__)
    with open(os.path.join(a.out, "dev_ids.json"), "w", encoding="utf-8") as f:
        json.dump(dict(model="sentence-transformers/all-MiniLM-L6-v2", versions=versions,
                       sentences=[dict(text=t, ids=i) for t, i in zip(texts, ids_all)]), f, ensure_ascii=False)
        f.write("\n")
    all_hidden = np.concatenate(hidden).astype(np.float32)
    save_file(
        dict(
            pooled=np.concatenate(pooled).astype(np.float32),
            token_norms=np.linalg.norm(all_hidden, axis=1).astype(np.float32),
            hidden_head=np.concatenate(hidden[:HEAD]).astype(np.float32),
        ),
        os.path.join(a.out, "dev_outputs.safetensors"),
        metadata=dict(versions=json.dumps(versions), head_sentences=str(HEAD)),
    )
    if a.all_hidden:
        save_file(dict(hidden=all_hidden), a.all_hidden)


if __name__ == "__main__":
    main()
