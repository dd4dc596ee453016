"""Writes oft_fixtures.json: OFT outputs and gradients computed by PyTorch, independently of the Go code.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 make_fixtures.py

The computation follows HF PEFT's OFT v2 (OFTRotationModule, PEFT >= 0.14), in float64:
  * oft_R.weight has one row per block (a single row with block_share) holding the strict upper
    triangle of a b x b matrix S in torch.triu_indices(b, b, 1) order; Q = S - S^T;
  * with coft, each row is first projected in place (no gradient) so that ||Q||_F <= eps/sqrt(rows);
  * exact Cayley: A = solve(I + Q, I - Q, left=False), i.e. A (I + Q) = I - Q;
    Neumann with T terms: A = I + 2Q + 2Q^2 + ... + Q^L as PEFT's loop adds it up;
  * every token, as a row vector, is cut into in/b blocks and block k becomes x_k A_k (A_0 for
    all blocks with block_share); then y = x_rot W^T + bias;
  * merging sets W <- (blockdiag(A) W^T)^T.
Each case records the config (PEFT's field names), W, b, the parameters before and after the COFT
projection, X, a projection P, the outputs Y, the loss L = sum(Y * P), the gradients of L with
respect to the (projected) parameters and X, and the merged weight.
"""
import json

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def skew(vec, b):
    rows, cols = torch.triu_indices(b, b, 1)
    s = torch.zeros(vec.shape[0], b, b)
    s[:, rows, cols] = vec
    return s - s.transpose(-2, -1)


def project(vec, b, eps):
    q = skew(vec, b)
    radius = eps / vec.shape[0] ** 0.5
    norm = q.norm(dim=(1, 2), keepdim=True)
    q = torch.where(norm <= radius, q, radius * q / norm)
    rows, cols = torch.triu_indices(b, b, 1)
    return q[:, rows, cols]


def rotation(vec, b, neumann, terms):
    q = skew(vec, b)
    eye = torch.eye(b).expand(vec.shape[0], b, b)
    if not neumann:
        return torch.linalg.solve(eye + q, eye - q, left=False)
    a = eye.clone()
    if terms > 1:
        a = a + 2 * q
        if terms > 2:
            power = q @ q
            a = a + 2 * power
            for _ in range(3, terms - 1):
                power = power @ q
                a = a + 2 * power
            a = a + power @ q
    return a


def case(name, d_in, d_out, n, r=0, block_size=0, block_share=False, coft=False, eps=6e-5,
         neumann=False, terms=5, scale=0.3):
    b = block_size if block_size else d_in // r
    blocks = d_in // b
    w = torch.randn(d_out, d_in)
    bias = torch.randn(d_out)
    params = torch.randn(1 if block_share else blocks, b * (b - 1) // 2) * scale
    if coft:
        params[0] *= 1e-3  # one row inside the ball, the others outside
    weight = params.clone()
    if coft:
        with torch.no_grad():
            weight.copy_(project(weight, b, eps))
    weight.requires_grad_(True)
    x = torch.randn(n, d_in, requires_grad=True)
    proj = torch.randn(n, d_out)

    a = rotation(weight, b, neumann, terms)
    if block_share:
        a = a.repeat(blocks, 1, 1)
    x_rot = torch.einsum("nrk,rkc->nrc", x.reshape(n, blocks, b), a).reshape(n, d_in)
    y = x_rot @ w.t() + bias
    loss = (y * proj).sum()
    loss.backward()
    merged = (torch.block_diag(*a.detach()) @ w.t()).t()

    flat = lambda t: t.detach().reshape(-1).tolist()
    config = {
        "r": r, "oft_block_size": block_size, "module_dropout": 0.0, "coft": coft, "eps": eps,
        "block_share": block_share, "use_cayley_neumann": neumann, "num_cayley_neumann_terms": terms,
    }
    return {
        "name": name, "config": config, "in": d_in, "out": d_out, "n": n,
        "W": flat(w), "b": flat(bias), "R": flat(params), "R_projected": flat(weight), "X": flat(x),
        "P": flat(proj), "Y": flat(y), "loss": loss.item(), "gradR": flat(weight.grad),
        "gradX": flat(x.grad), "W_merged": flat(merged),
    }


cases = [
    case("cayley", 12, 5, 3, block_size=4),
    case("cayley-from-r", 10, 6, 4, r=2, scale=0.5),
    case("cayley-one-block", 6, 4, 2, r=1, scale=1.0),
    case("neumann-5", 12, 5, 3, block_size=4, neumann=True, terms=5),
    case("neumann-3", 12, 5, 3, block_size=4, neumann=True, terms=3),
    case("neumann-2", 12, 5, 3, block_size=4, neumann=True, terms=2),
    case("neumann-7", 8, 3, 2, block_size=8, neumann=True, terms=7, scale=0.1),
    case("shared-cayley", 12, 5, 3, block_size=3, block_share=True),
    case("shared-neumann", 12, 4, 3, r=3, block_share=True, neumann=True, terms=5),
    case("coft", 12, 5, 3, block_size=4, coft=True, eps=0.5),
    case("coft-shared-neumann", 12, 5, 3, block_size=4, block_share=True, coft=True, eps=0.2,
         neumann=True, terms=5),
]
with open("oft_fixtures.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
