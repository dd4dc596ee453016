#!/usr/bin/env python3
"""Tiny random DeBERTa-v2 checkpoints and their outputs, from real transformers.

    python make_tiny_deberta.py                     (from anywhere; writes beside this script)
    python make_tiny_deberta.py base-shapes OUT_DIR (for TestLiveDebertaV3BaseShapes; not committed)

Builds two DebertaV2ForSequenceClassification models with seeded random weights (drawn wider than
transformers' 0.02 so that every term of the attention matters) and saves them with
save_pretrained (config.json, model.safetensors):

- tiny-deberta-v3: DeBERTa-v3's layout (relative_attention, pos_att_type p2c|c2p, share_att_key,
  norm_rel_ebd layer_norm, position_biased_input false, type_vocab_size 0, max_relative_positions
  -1), 2 layers, hidden 32, 4 heads, with 8 position buckets over 64 positions so that short
  sentences already reach the logarithmic buckets and the clamp; vocabulary of the SentencePiece
  model integration/tokenizer/hfjson/testdata/spm.model.gz (laid out like DeBERTa-v3's), which
  tokenises the sentences with transformers' DebertaV2Tokenizer;
- tiny-deberta-proj: the embedding variants v3 does not use: embedding_size 16 ≠ hidden 32
  (embed_proj), absolute positions (position_biased_input), two token types, c2p only, separate
  pos_key_proj (share_att_key false), no bucketing, max_relative_positions 6, gelu_new, tanh pooler;
  random ids and token types;
- tiny-deberta-plain: relative_attention false (DebertaV2Config's default): no relative terms and
  no rel_embeddings, though pos_att_type names them; absolute positions, relu pooler.

Each directory also gets expected.safetensors with, for one right-padded batch (an attention mask;
sequences of different lengths, pairs in the v3 one), every sequence's real tokens' embedding
output ("embeddings"), hidden state after each layer ("hidden.N") and the logits ("logits") and
pooled output ("pooled"), as float32; the batch's ids, token types and lengths are in its metadata
with the library versions. Run with the venv of integration/pyref/setup.sh.

base-shapes writes the same into OUT_DIR for a random model of DeBERTa-v3-base's layer shapes and
relative positions (hidden 768, 12 heads, FFN 3072, 256 buckets over 512 positions; 2 layers and a
vocabulary of 1000 to stay small) on sequences of 300, 140 and 20 tokens, which reach the
logarithmic buckets (distances of 128 and more).
"""

import gzip
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import safetensors
import sentencepiece
import torch
import transformers
from safetensors.numpy import save_file
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification, DebertaV2Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SPM = os.path.join(HERE, "..", "..", "tokenizer", "hfjson", "testdata", "spm.model.gz")

SENTENCES = [
    ("a warm, funny and deeply moving film", None),
    ("dull", None),
    ("the plot is thin but the actors make every scene count, again and again", None),
    ("is it good?", "it is the best film of the year"),
]


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * noise)
            elif name.endswith("bias") or "LayerNorm" in name:
                p.copy_(0.1 * noise)
            elif "embeddings" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(noise / p.shape[-1] ** 0.5)


def run(model, ids, types, out_dir, meta):
    lengths = [len(x) for x in ids]
    n = max(lengths)
    input_ids = torch.zeros(len(ids), n, dtype=torch.long)
    token_types = torch.zeros(len(ids), n, dtype=torch.long)
    mask = torch.zeros(len(ids), n, dtype=torch.long)
    for i, (x, t) in enumerate(zip(ids, types)):
        input_ids[i, : len(x)] = torch.tensor(x)
        token_types[i, : len(x)] = torch.tensor(t)
        mask[i, : len(x)] = 1
    with torch.no_grad():
        out = model(input_ids=input_ids, token_type_ids=token_types, attention_mask=mask, output_hidden_states=True)
        pooled = model.pooler(out.hidden_states[-1])

    def real(x):  # every sequence's real tokens, concatenated
        return np.concatenate([x[i, :l].numpy() for i, l in enumerate(lengths)])

    tensors = {"embeddings": real(out.hidden_states[0]), "logits": out.logits.numpy(), "pooled": pooled.numpy()}
    for i, h in enumerate(out.hidden_states[1:]):
        tensors[f"hidden.{i}"] = real(h)
    versions = dict(torch=torch.__version__, transformers=transformers.__version__,
                    safetensors=safetensors.__version__, sentencepiece=sentencepiece.__version__)
    meta = dict(meta, versions=json.dumps(versions), ids=json.dumps(ids), token_type_ids=json.dumps(types),
                lengths=json.dumps(lengths))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
              os.path.join(out_dir, "expected.safetensors"), metadata=meta)


def build(cfg, seed, name):
    """A DebertaV2ForSequenceClassification of cfg drawn from seed, randomised and saved under
    name (beside this script, or an absolute directory); returns it and its directory."""
    torch.manual_seed(seed)
    model = DebertaV2ForSequenceClassification(cfg).eval()
    randomise(model, seed + 1)
    return model, save(model, name)


def random_batch(vocab, lengths, seed, first_type):
    """Sequences of random ids in [1, vocab) of the given lengths; token type 0 for the first
    first_type(length) tokens, 1 after."""
    g = torch.Generator().manual_seed(seed)
    ids, types = [], []
    for l in lengths:
        ids.append(torch.randint(1, vocab, (l,), generator=g).tolist())
        types.append([0] * first_type(l) + [1] * (l - first_type(l)))
    return ids, types


def save(model, name):
    out_dir = os.path.join(HERE, name) if not os.path.isabs(name) else name
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir)
    return out_dir


def v3():
    with tempfile.TemporaryDirectory() as tmp:
        with gzip.open(SPM) as src, open(os.path.join(tmp, "spm.model"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        tok = DebertaV2Tokenizer.from_pretrained(tmp)
        encodings = [tok(a, b) for a, b in SENTENCES]
        vocab = len(tok)
    cfg = DebertaV2Config(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        hidden_act="gelu", max_position_embeddings=64, type_vocab_size=0, relative_attention=True,
        position_buckets=8, max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
        pos_att_type="p2c|c2p", position_biased_input=False, layer_norm_eps=1e-7, pooler_hidden_size=32,
        pooler_hidden_act="gelu", pooler_dropout=0, num_labels=3, pad_token_id=0,
    )
    model, out_dir = build(cfg, 11, "tiny-deberta-v3")
    ids = [e["input_ids"] for e in encodings]
    types = [e["token_type_ids"] for e in encodings]
    run(model, ids, types, out_dir, dict(sentences=json.dumps(SENTENCES), tokenizer="spm.model.gz via DebertaV2Tokenizer"))


def proj():
    cfg = DebertaV2Config(
        vocab_size=120, hidden_size=32, embedding_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=48, hidden_act="gelu_new", max_position_embeddings=40, type_vocab_size=2,
        relative_attention=True, position_buckets=-1, max_relative_positions=6, norm_rel_ebd="none",
        share_att_key=False, pos_att_type=["c2p"], position_biased_input=True, layer_norm_eps=1e-7,
        pooler_hidden_size=32, pooler_hidden_act="tanh", pooler_dropout=0, num_labels=2, pad_token_id=0,
    )
    model, out_dir = build(cfg, 13, "tiny-deberta-proj")
    run(model, *random_batch(120, [11, 3, 16], 15, lambda l: l // 2), out_dir, {})


def plain():
    cfg = DebertaV2Config(
        vocab_size=80, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        hidden_act="gelu", max_position_embeddings=24, type_vocab_size=2, relative_attention=False,
        pos_att_type=["c2p", "p2c"], position_biased_input=True, layer_norm_eps=1e-7,
        pooler_hidden_size=32, pooler_hidden_act="relu", pooler_dropout=0, num_labels=2, pad_token_id=0,
    )
    model, out_dir = build(cfg, 19, "tiny-deberta-plain")
    run(model, *random_batch(80, [9, 2, 14], 21, lambda l: l - l // 3), out_dir, {})


def base_shapes(out_dir):
    cfg = DebertaV2Config(
        vocab_size=1000, hidden_size=768, num_hidden_layers=2, num_attention_heads=12, intermediate_size=3072,
        hidden_act="gelu", max_position_embeddings=512, type_vocab_size=0, relative_attention=True,
        position_buckets=256, max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
        pos_att_type="p2c|c2p", position_biased_input=False, layer_norm_eps=1e-7, num_labels=2,
    )
    model, out_dir = build(cfg, 16, os.path.abspath(out_dir))
    g = torch.Generator().manual_seed(18)
    ids = [[1] + torch.randint(3, 1000, (l - 2,), generator=g).tolist() + [2] for l in [300, 140, 20]]
    run(model, ids, [[0] * len(x) for x in ids], out_dir, {})


if __name__ == "__main__":
    torch.set_num_threads(2)
    if len(sys.argv) == 3 and sys.argv[1] == "base-shapes":
        base_shapes(sys.argv[2])
    else:
        v3()
        proj()
        plain()
