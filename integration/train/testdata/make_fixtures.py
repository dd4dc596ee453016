"""Writes torch_fixtures.json: reference numbers for the trainer, computed by PyTorch.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 make_fixtures.py

- "cross_entropy": torch.nn.functional.cross_entropy (mean over the batch) of batch×labels logits,
  with its gradient with respect to the logits; one case has large logits to exercise stability.
- "adamw": torch.optim.AdamW (β 0.9/0.999, ε 1e-8, decoupled weight decay) driven by a
  LambdaLR with transformers' get_linear_schedule_with_warmup lambda, with
  torch.nn.utils.clip_grad_norm_ before each step. Gradients are fixed per step (given, not
  computed), one parameter gets no gradient on some steps (PyTorch skips it, state and all), and
  the recorded values are the parameters after every step, the gradient norms before clipping
  and the learning rates used.
"""
import json
import math

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def linear_schedule_with_warmup(warmup, total):
    # transformers.get_linear_schedule_with_warmup's lr_lambda.
    def lr_lambda(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return lr_lambda


def flat(t):
    return t.detach().reshape(-1).tolist()


def cross_entropy_case(name, batch, labels_n, scale):
    logits = (torch.randn(batch, labels_n) * scale).requires_grad_()
    labels = torch.randint(0, labels_n, (batch,))
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    return {"name": name, "rows": batch, "cols": labels_n, "logits": flat(logits),
            "labels": labels.tolist(), "loss": loss.item(), "grad": flat(logits.grad)}


def adamw_case(name, lr, weight_decay, warmup, total, max_norm, grad_scale, shapes=((2, 3), (4,))):
    params = [torch.randn(*s).requires_grad_() for s in shapes]
    initial = [flat(p) for p in params]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule_with_warmup(warmup, total))
    grads, values, norms, lrs = [], [], [], []
    for step in range(total):
        step_grads = []
        for i, p in enumerate(params):
            if i == 1 and step % 3 == 1:
                p.grad = None  # this parameter takes no part in this step
                step_grads.append(None)
                continue
            g = torch.randn(*p.shape) * grad_scale
            p.grad = g.clone()
            step_grads.append(flat(g))
        norm = torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], max_norm)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        grads.append(step_grads)
        norms.append(norm.item())
        values.append([flat(p) for p in params])
    return {"name": name, "lr": lr, "weight_decay": weight_decay, "warmup": warmup, "total": total,
            "max_norm": max_norm, "shapes": [list(s) for s in shapes], "initial": initial,
            "grads": grads, "norms": norms, "lrs": lrs, "values": values}


if __name__ == "__main__":
    fixtures = {
        "cross_entropy": [
            cross_entropy_case("small", 5, 3, 1.0),
            cross_entropy_case("binary", 4, 2, 2.0),
            cross_entropy_case("large logits", 3, 4, 1000.0),
        ],
        "adamw": [
            adamw_case("warmup, decay, clipping", 1e-2, 0.01, 2, 7, 1.0, 1.0),
            adamw_case("no warmup, no clipping needed", 3e-3, 0.0, 0, 5, 1.0, 0.05),
            adamw_case("heavy weight decay", 1e-1, 0.5, 1, 4, 0.5, 3.0),
        ],
    }

    with open("torch_fixtures.json", "w") as f:
        json.dump(fixtures, f, indent=1)
        f.write("\n")
