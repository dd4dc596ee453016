"""Writes lora_fixtures.json: LoRA outputs and gradients computed by PyTorch, independently of the Go code.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 make_fixtures.py

The forward follows HF PEFT's LoRA Linear layer without dropout: lora_A.weight A (r×in),
lora_B.weight B (out×r), scaling s = lora_alpha/r (lora_alpha/√r with use_rslora) and
y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ. B is drawn at random, as after training, so every gradient is non-zero.
Each case records W, b, lora_A, lora_B (named as PEFT names the weights), X, a projection P, the outputs Y, the loss L = Σ Y⊙P and the
gradients of L with respect to A, B and X.
"""
import json
import math

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def case(name, d_in, d_out, r, n, alpha, use_rslora=False):
    w = torch.randn(d_out, d_in)
    b = torch.randn(d_out)
    a = torch.randn(r, d_in, requires_grad=True)
    bb = torch.randn(d_out, r, requires_grad=True)
    x = torch.randn(n, d_in, requires_grad=True)
    proj = torch.randn(n, d_out)
    scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
    base = torch.nn.functional.linear(x, w, b)
    update = torch.nn.functional.linear(torch.nn.functional.linear(x, a), bb)
    y = base + update * scaling
    loss = (y * proj).sum()
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    return {
        "name": name, "in": d_in, "out": d_out, "rank": r, "n": n, "lora_alpha": alpha, "use_rslora": use_rslora,
        "W": flat(w), "b": flat(b), "lora_A": flat(a), "lora_B": flat(bb), "X": flat(x), "P": flat(proj),
        "Y": flat(y), "loss": loss.item(), "grad_lora_A": flat(a.grad), "grad_lora_B": flat(bb.grad), "gradX": flat(x.grad),
    }


cases = [
    case("lora", 9, 5, 4, 3, alpha=8),
    case("rslora", 7, 8, 3, 4, alpha=6, use_rslora=True),
    case("rank-one", 6, 4, 1, 2, alpha=0.5),
    case("full-rank", 5, 3, 3, 2, alpha=16),
]
with open("lora_fixtures.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
