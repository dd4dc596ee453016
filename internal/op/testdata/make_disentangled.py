#!/usr/bin/env python3
"""Reference values of DeBERTa-v2's disentangled self-attention, from real transformers.

    python make_disentangled.py OUT.safetensors

Writes, for TestDisentangledAttentionTransformers and TestRelativeBucketTransformers:

- buckets_B_M: transformers' make_log_bucket_position(delta, B, M) for delta = -(M+8)..M+8, for
  (B, M) in BUCKETS (DeBERTa-v3's 256/512 among them), as float32;
- for each case of CASES, a DisentangledSelfAttention (transformers.models.deberta_v2) with random
  weights on a right-padded batch of three sequences (lengths 9, 4, 14) with an attention mask:
  CASE.hidden (3×14×32), CASE.rel_embeddings (2·span×32), CASE.{query,key,value}_proj.{weight,bias},
  CASE.pos_{key,query}_proj.{weight,bias} where share_att_key is off, and CASE.context, the
  attention's output (3×14×32; only each sequence's real tokens are meaningful).

The library versions go in the file's metadata. Run with the venv of integration/pyref/setup.sh.
"""

import json
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors.numpy import save_file
from transformers import DebertaV2Config
from transformers.models.deberta_v2.modeling_deberta_v2 import (
    DisentangledSelfAttention,
    build_relative_position,
    make_log_bucket_position,
)

BUCKETS = [(256, 512), (8, 64), (32, 128), (6, 20)]
LENGTHS = [9, 4, 14]
HIDDEN, HEADS = 32, 4
# name: (pos_att_type, position_buckets, max_relative_positions, share_att_key)
CASES = {
    "v3": (["p2c", "c2p"], 8, 12, True),
    "c2p_only": (["c2p"], 6, 20, True),
    "p2c_unshared": (["p2c"], 8, 12, False),
    "no_buckets": (["c2p", "p2c"], -1, 5, False),
}


def main():
    torch.manual_seed(7)
    out = {}
    for b, m in BUCKETS:
        delta = torch.arange(-(m + 8), m + 9)
        out[f"buckets_{b}_{m}"] = make_log_bucket_position(delta, b, m).float().numpy()
    n = max(LENGTHS)
    mask = torch.zeros(len(LENGTHS), n)
    for i, l in enumerate(LENGTHS):
        mask[i, :l] = 1
    ext = mask[:, None, None, :] * mask[:, None, :, None]
    for name, (att, buckets, maxrel, share) in CASES.items():
        cfg = DebertaV2Config(hidden_size=HIDDEN, num_attention_heads=HEADS, pos_att_type=att,
                              position_buckets=buckets, max_relative_positions=maxrel,
                              share_att_key=share, relative_attention=True, max_position_embeddings=64,
                              attention_probs_dropout_prob=0, hidden_dropout_prob=0)
        attn = DisentangledSelfAttention(cfg).eval()
        for p in attn.parameters():
            torch.nn.init.normal_(p, std=0.3)
        span = buckets if buckets > 0 else maxrel
        hidden = torch.randn(len(LENGTHS), n, HIDDEN)
        rel = torch.randn(2 * span, HIDDEN)
        rel_pos = build_relative_position(hidden, hidden, bucket_size=buckets, max_position=maxrel)
        with torch.no_grad():
            ctx, _ = attn(hidden, ext.bool(), relative_pos=rel_pos, rel_embeddings=rel)
        out[f"{name}.hidden"] = hidden.numpy()
        out[f"{name}.rel_embeddings"] = rel.numpy()
        out[f"{name}.context"] = ctx.numpy()
        for k, v in attn.state_dict().items():
            out[f"{name}.{k}"] = v.numpy()
    versions = dict(torch=torch.__version__, transformers=transformers.__version__,
                    safetensors=safetensors.__version__)
    meta = dict(versions=json.dumps(versions), lengths=json.dumps(LENGTHS), heads=str(HEADS),
                cases=json.dumps(CASES), buckets=json.dumps(BUCKETS))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}, sys.argv[1], metadata=meta)


if __name__ == "__main__":
    main()
