"""Writes hra_fixtures.json: HRA outputs and gradients computed by PyTorch, independently of the Go code.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 make_fixtures.py

The forward follows HF PEFT's HRA layer: delta = H_1·H_2⋯H_r built explicitly from hra_u (in×r)
with unit columns (or, with apply_GS, H = I − 2·Q·Qᵀ for Q = Gram–Schmidt(hra_u)), and
y = x·(W·delta)ᵀ + b. The regulariser is the paper's ‖I − ÛᵀÛ‖²_F. Each case records W, b, U, X,
a projection P, the outputs Y, the loss L = Σ Y⊙P (+ λ·penalty) and the gradients of L.
"""
import json

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def delta_weight(u, apply_gs):
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


def penalty(u):
    unit = u / u.norm(dim=0)
    r = u.shape[1]
    return ((torch.eye(r) - unit.t() @ unit) ** 2).sum()


def case(name, d_in, d_out, r, n, apply_gs=False, lam=0.0):
    w = torch.randn(d_out, d_in)
    b = torch.randn(d_out)
    u = torch.randn(d_in, r, requires_grad=True)
    x = torch.randn(n, d_in, requires_grad=True)
    proj = torch.randn(n, d_out)
    y = x @ (w @ delta_weight(u, apply_gs)).t() + b
    loss = (y * proj).sum()
    if lam:
        loss = loss + lam * penalty(u)
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    return {
        "name": name, "in": d_in, "out": d_out, "rank": r, "n": n, "apply_GS": apply_gs, "lambda": lam,
        "W": flat(w), "b": flat(b), "U": flat(u), "X": flat(x), "P": flat(proj),
        "Y": flat(y), "loss": loss.item(), "gradU": flat(u.grad), "gradX": flat(x.grad),
    }


cases = [
    case("reflections", 9, 5, 4, 3),
    case("reflections-odd-r", 6, 7, 3, 4),
    case("regularised", 8, 4, 5, 2, lam=0.25),
    case("gram-schmidt", 9, 5, 4, 3, apply_gs=True),
    case("full-rank", 5, 3, 5, 2),
]
with open("hra_fixtures.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
