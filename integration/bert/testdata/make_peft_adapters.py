#!/usr/bin/python3
"""Regenerate the PEFT adapter fixtures of package integration/bert.

Run from anywhere with the Debian PyTorch (peft and transformers are not needed):

    /usr/bin/python3 integration/bert/testdata/make_peft_adapters.py

It reads the tiny BERT checkpoint of integration/checkpoint/testdata/tiny-bert (config.json and
model.safetensors, parsed by hand) and writes, for each case below, a directory
testdata/peft/<case>/ laid out as HF PEFT's PeftModelForSequenceClassification.save_pretrained
writes it for that checkpoint:

  adapter_config.json        every key PEFT 0.19 writes for the method, json.dumps(indent=2,
                             sort_keys=True); modules_to_save ends with "classifier" and "score",
                             which PEFT appends for task_type SEQ_CLS.
  adapter_model.safetensors  F32 tensors under PEFT's keys (the adapter name "default" removed):
                             base_model.model.bert.encoder.layer.<i>.<module>.<suffix> with suffix
                             hra_u (in x r), lora_A.weight (r x in) and lora_B.weight (out x r), or
                             oft_R.weight (blocks x b(b-1)/2); the modules to save as
                             base_model.model.classifier.{weight,bias} and
                             base_model.model.bert.pooler.dense.{weight,bias}. Written by hand:
                             8-byte LE header length, JSON header with __metadata__
                             {"format": "pt"} padded with spaces to 8 bytes, raw LE data.

The adapter and head values are random and far from PEFT's identity initialisation, so every
adapter changes the logits. testdata/peft/expected.json holds, for a batch of three sequences,
the logits of each case ("logits") computed in float64 (from the stored float32 values) by the
plain-torch BERT forward below, with the adapters applied as PEFT's layers apply them, and the
logits with the saved head but without the adapters ("head_only_logits"):

  HRA   y = x (W H)^T + b, H = H_1 ... H_r, H_i = I - 2 u_i u_i^T for the unit columns u_i of
        hra_u (HRALinear.get_delta_weight / forward); with apply_GS, H = I - 2 Q Q^T for the
        Gram-Schmidt orthonormalisation Q of hra_u.
  LoRA  y = x W^T + b + s (x A^T) B^T, s = lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
  OFT   each token, as a row vector, is cut into blocks of b and block k becomes x_k R_k, where
        R_k is built from row k of oft_R.weight (row 0 for every block with block_share) as
        OFTRotationModule._cayley_batch does: Q = S - S^T with the strict upper triangle of S
        filled in torch.triu_indices order, then R = (I - Q)(I + Q)^-1 by
        torch.linalg.solve(I + Q, I - Q, left=False), or the Neumann series
        R = I + 2Q + 2Q^2 + ... + Q^L; then y = x_rot W^T + b.

The BERT forward is checked first against the checkpoint's own expected.json (HF transformers
outputs), so an error in it cannot go unnoticed.
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINT = os.path.join(HERE, "..", "..", "checkpoint", "testdata", "tiny-bert")
OUT = os.path.join(HERE, "peft")

torch.manual_seed(20261127)
torch.set_default_dtype(torch.float64)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        if info["dtype"] != "F32":
            continue
        t = torch.frombuffer(bytearray(raw), dtype=torch.float32).clone().reshape(info["shape"])
        out[name] = t.to(torch.float64)
    return out


def write_safetensors(path, tensors):
    names = sorted(tensors)
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    blobs = []
    for name in names:
        t = tensors[name].to(torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for raw in blobs:
            f.write(raw)


def f32(t):
    """The value as stored in an F32 file, back in float64."""
    return t.to(torch.float32).to(torch.float64)


# ---- plain BERT forward, float64, evaluation mode ----

def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def forward(cfg, w, linear, ids, types):
    """Logits of one sequence; linear(name, x) applies the (possibly adapted) linear layer."""
    n = len(ids)
    eps = cfg["layer_norm_eps"]
    x = (w["bert.embeddings.word_embeddings.weight"][ids]
         + w["bert.embeddings.position_embeddings.weight"][:n]
         + w["bert.embeddings.token_type_embeddings.weight"][types])
    x = layer_norm(x, w["bert.embeddings.LayerNorm.weight"], w["bert.embeddings.LayerNorm.bias"], eps)
    heads = cfg["num_attention_heads"]
    size = cfg["hidden_size"] // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        q = linear(p + "attention.self.query", x).view(n, heads, size).transpose(0, 1)
        k = linear(p + "attention.self.key", x).view(n, heads, size).transpose(0, 1)
        v = linear(p + "attention.self.value", x).view(n, heads, size).transpose(0, 1)
        attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(size), dim=-1)
        ctx = (attn @ v).transpose(0, 1).reshape(n, heads * size)
        a = linear(p + "attention.output.dense", ctx)
        x = layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(p + "intermediate.dense", x))
        o = linear(p + "output.dense", h)
        x = layer_norm(o + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = torch.tanh(linear("bert.pooler.dense", x[:1]))
    return linear("classifier", pooled)[0]


def plain_linear(w):
    return lambda name, x: x @ w[name + ".weight"].t() + w[name + ".bias"]


# ---- the adapters, as PEFT's layers compute them ----

def hra_delta(u, apply_gs):
    d, r = u.shape
    if apply_gs:
        q = [u[:, 0] / u[:, 0].norm()]
        for i in range(1, r):
            v = u[:, i]
            for j in range(i):
                v = v - (q[j] @ v) * q[j]
            q.append(v / v.norm())
        q = torch.stack(q, dim=1)
        return torch.eye(d) - 2 * q @ q.t()
    unit = u / u.norm(dim=0)
    h = torch.eye(d)
    for i in range(r):
        ui = unit[:, i].view(-1, 1)
        h = h @ (torch.eye(d) - 2 * ui @ ui.t())
    return h


def oft_rotation(vec, b, neumann, terms):
    rows, cols = torch.triu_indices(b, b, 1)
    s = torch.zeros(vec.shape[0], b, b)
    s[:, rows, cols] = vec
    q = s - s.transpose(-2, -1)
    eye = torch.eye(b).expand(vec.shape[0], b, b)
    if not neumann:
        return torch.linalg.solve(eye + q, eye - q, left=False)
    r = eye.clone()
    if terms > 1:
        r = r + 2 * q
        if terms > 2:
            power = q @ q
            r = r + 2 * power
            for _ in range(3, terms - 1):
                power = power @ q
                r = r + 2 * power
            r = r + power @ q
    return r


def oft_rotate(x, vec, b, neumann, terms, share):
    blocks = x.shape[-1] // b
    rot = oft_rotation(vec, b, neumann, terms)
    if share:
        rot = rot.repeat(blocks, 1, 1)
    return torch.einsum("nrk,rkc->nrc", x.view(x.shape[0], blocks, b), rot).reshape(x.shape)


# ---- adapter_config.json as PEFT 0.19 writes it ----

COMMON = {
    "auto_mapping": None,
    "base_model_name_or_path": "tiny-bert",
    "bias": "none",
    "exclude_modules": None,
    "inference_mode": True,
    "layers_pattern": None,
    "layers_to_transform": None,
    "peft_version": "0.19.1",
    "revision": None,
    "task_type": "SEQ_CLS",
}

LORA_DEFAULTS = {
    "alora_invocation_tokens": None, "alpha_pattern": {}, "arrow_config": None, "corda_config": None,
    "ensure_weight_tying": False, "eva_config": None, "fan_in_fan_out": False, "init_lora_weights": True,
    "layer_replication": None, "loftq_config": {}, "lora_bias": False, "lora_ga_config": None,
    "megatron_config": None, "megatron_core": "megatron.core", "qalora_group_size": 16, "rank_pattern": {},
    "target_parameters": None, "trainable_token_indices": None, "use_bdlora": None, "use_dora": False,
    "use_qalora": False,
}

OFT_DEFAULTS = {"fan_in_fan_out": False, "init_weights": True, "coft": False, "eps": 6e-5, "module_dropout": 0.0}

CASES = [
    {"name": "hra", "peft_type": "HRA", "targets": ["query", "value"], "save": ["pooler"],
     "config": {"r": 4, "apply_GS": False, "init_weights": True}},
    {"name": "hra-gs", "peft_type": "HRA", "targets": ["key", "output.dense"], "layers": [1], "save": [],
     "config": {"r": 3, "apply_GS": True, "init_weights": False}},
    {"name": "lora", "peft_type": "LORA", "targets": ["query", "value", "intermediate.dense"], "save": ["pooler"],
     "config": dict(LORA_DEFAULTS, r=4, lora_alpha=8, lora_dropout=0.1, use_rslora=True)},
    {"name": "oft", "peft_type": "OFT", "targets": ["query", "value"], "save": [],
     "config": dict(OFT_DEFAULTS, r=0, oft_block_size=8, block_share=False, use_cayley_neumann=True, num_cayley_neumann_terms=5)},
    {"name": "oft-cayley-shared", "peft_type": "OFT", "targets": ["attention.output.dense"], "save": ["pooler"],
     "config": dict(OFT_DEFAULTS, r=4, oft_block_size=0, block_share=True, use_cayley_neumann=False, num_cayley_neumann_terms=5)},
]

BATCH = {
    "input_ids": [[2, 5, 8, 37, 20, 86, 3], [2, 40, 3], [2, 11, 12, 3, 13, 14, 15, 3]],
    "token_type_ids": [[0] * 7, [0] * 3, [0, 0, 0, 0, 1, 1, 1, 1]],
}


def selected(name, case):
    """PEFT's rule: the module name equals a target or ends with "." + target, within the layers."""
    if not any(name == t or name.endswith("." + t) for t in case["targets"]):
        return False
    layers = case.get("layers")
    return layers is None or int(name.split(".")[3]) in layers


def build(case, cfg, w):
    """Draws the case's tensors and returns them (PEFT keys) with its linear function."""
    tensors = {}
    adapted = {}
    hidden = cfg["hidden_size"]
    c = case["config"]
    for name in sorted(w):
        if not name.endswith(".weight") or not name.startswith("bert.encoder.") or "LayerNorm" in name:
            continue
        module = name[:-len(".weight")]
        if not selected(module, case):
            continue
        out, inp = w[name].shape
        key = "base_model.model." + module
        if case["peft_type"] == "HRA":
            u = f32(torch.randn(inp, c["r"]))
            tensors[key + ".hra_u"] = u
            adapted[module] = ("HRA", u)
        elif case["peft_type"] == "LORA":
            a = f32(0.3 * torch.randn(c["r"], inp))
            b = f32(0.3 * torch.randn(out, c["r"]))
            tensors[key + ".lora_A.weight"] = a
            tensors[key + ".lora_B.weight"] = b
            adapted[module] = ("LORA", a, b)
        else:
            block = c["oft_block_size"] or inp // c["r"]
            rows = 1 if c["block_share"] else inp // block
            vec = f32(0.15 * torch.randn(rows, block * (block - 1) // 2))
            tensors[key + ".oft_R.weight"] = vec
            adapted[module] = ("OFT", vec, block)
    if not adapted:
        raise SystemExit(f"case {case['name']}: no module selected")
    head = dict(w)
    for module in ["bert.pooler.dense"] * ("pooler" in case["save"]) + ["classifier"]:
        out, inp = w[module + ".weight"].shape
        head[module + ".weight"] = f32(0.3 * torch.randn(out, inp))
        head[module + ".bias"] = f32(0.1 * torch.randn(out))
        tensors["base_model.model." + module + ".weight"] = head[module + ".weight"]
        tensors["base_model.model." + module + ".bias"] = head[module + ".bias"]

    def linear(name, x):
        weight, bias = head[name + ".weight"], head[name + ".bias"]
        if name not in adapted:
            return x @ weight.t() + bias
        kind = adapted[name]
        if kind[0] == "HRA":
            return x @ (weight @ hra_delta(kind[1], c["apply_GS"])).t() + bias
        if kind[0] == "LORA":
            scale = c["lora_alpha"] / (math.sqrt(c["r"]) if c["use_rslora"] else c["r"])
            return x @ weight.t() + bias + scale * (x @ kind[1].t()) @ kind[2].t()
        rotated = oft_rotate(x, kind[1], kind[2], c["use_cayley_neumann"], c["num_cayley_neumann_terms"], c["block_share"])
        return rotated @ weight.t() + bias

    return tensors, linear, plain_linear(head)


def adapter_config(case):
    out = dict(COMMON)
    out.update(case["config"])
    out["peft_type"] = case["peft_type"]
    out["target_modules"] = case["targets"]
    out["layers_to_transform"] = case.get("layers")
    out["modules_to_save"] = case["save"] + ["classifier", "score"]
    return out


def logits_of(cfg, w, linear):
    return [forward(cfg, w, linear, ids, types).tolist() for ids, types in zip(BATCH["input_ids"], BATCH["token_type_ids"])]


def main():
    with open(os.path.join(CHECKPOINT, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(CHECKPOINT, "model.safetensors"))
    with open(os.path.join(CHECKPOINT, "expected.json")) as f:
        reference = json.load(f)
    single = next(c for c in reference["cases"] if c["name"] == "single")
    got = forward(cfg, w, plain_linear(w), single["input_ids"][0], single["token_type_ids"][0])
    diff = (got - torch.tensor(single["logits"][0])).abs().max().item()
    assert diff < 1e-6, f"plain forward differs from transformers by {diff}"

    expected = {
        "description": "logits of tiny-bert with each PEFT adapter of this directory; see make_peft_adapters.py",
        "reference_dtype": "float64",
        "input_ids": BATCH["input_ids"],
        "token_type_ids": BATCH["token_type_ids"],
        "cases": {},
    }
    for case in CASES:
        tensors, linear, head_only = build(case, cfg, w)
        directory = os.path.join(OUT, case["name"])
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "adapter_config.json"), "w") as f:
            f.write(json.dumps(adapter_config(case), indent=2, sort_keys=True))
        write_safetensors(os.path.join(directory, "adapter_model.safetensors"), tensors)
        expected["cases"][case["name"]] = {
            "logits": logits_of(cfg, w, linear),
            "head_only_logits": logits_of(cfg, w, head_only),
        }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
