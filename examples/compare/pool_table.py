#!/usr/bin/env python3
"""Pools the runs of several Go (results.json) and PEFT (peft_compare.py --json) result files by
method, targets and learning rate, and prints Go and PEFT side by side.

    python3 examples/compare/pool_table.py [--sweep] FILE_OR_DIR...

A directory stands for every results.json and peft-*.json below it. Runs are keyed by seed: a seed
met twice keeps the last file's run. Without --sweep, one row per (method, targets, learning rate)
that both stacks ran: dev and held-out accuracy as mean ± standard deviation over the seeds, and
the difference of the means ± its standard error, √(s²_Go/n_Go + s²_PEFT/n_PEFT). With --sweep,
each method's mean dev accuracy at every learning rate, and each stack at its best one (highest
mean dev accuracy) with the held-out accuracy there. Standard library only.
"""

import glob
import json
import math
import os
import statistics
import sys

NAMES = {"hra": "HRA", "lora": "LoRA", "oft": "OFT", "head": "head only", "full": "full fine-tuning"}
ORDER = ["hra", "lora", "oft", "head", "full"]


def files_of(args):
    for a in args:
        if os.path.isdir(a):
            yield from sorted(glob.glob(os.path.join(a, "**", "results.json"), recursive=True))
            yield from sorted(glob.glob(os.path.join(a, "**", "peft-*.json"), recursive=True))
        else:
            yield a


def targets_of(method, targets):
    if method in ("head", "full"):
        return "—"
    t = set(targets)
    return "all six" if {"key", "dense"} <= t else ("q, v" if t == {"query", "value"} else ", ".join(sorted(t)))


def load(args):
    """Returns {(stack, method, targets, lr): {seed: (dev, held_out)}}."""
    pooled = {}
    for path in files_of(args):
        d = json.load(open(path))
        if "budget" in d:  # Go
            targets = d["budget"]["target_modules"]
            for m in d["methods"]:
                runs = zip(m["seeds"], m["dev_accuracies"], m.get("test_accuracies") or [None] * len(m["seeds"]))
                key = ("go", m["method"], targets_of(m["method"], targets), float(f"{m['lr']:.6g}"))
                pooled.setdefault(key, {}).update({s: (dev, test) for s, dev, test in runs})
        else:  # PEFT
            targets = [t.strip() for t in d["meta"]["args"]["targets"].split(",")]
            for m in d["methods"]:
                key = ("peft", m["method"], targets_of(m["method"], targets), float(f"{m['lr']:.6g}"))
                pooled.setdefault(key, {}).update({r["seed"]: (r["dev_accuracy"], r["test_accuracy"]) for r in m["runs"]})
    return pooled


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0), len(xs)


def cell(s):
    if s is None:
        return "—"
    m, sd, n = s
    return f"{100 * m:.1f} ± {100 * sd:.1f}" if n > 1 else f"{100 * m:.1f}"


def delta(g, p):
    if g is None or p is None:
        return "—"
    if g[2] < 2 or p[2] < 2:
        return f"{100 * (g[0] - p[0]):+.1f}"
    se = math.sqrt(g[1] ** 2 / g[2] + p[1] ** 2 / p[2])
    return f"{100 * (g[0] - p[0]):+.1f} ± {100 * se:.1f}"


def seed_span(seeds):
    seeds = sorted(seeds)
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{len(seeds)} ({seeds[0]}–{seeds[-1]})" if len(seeds) > 1 else f"1 ({seeds[0]})"
    return f"{len(seeds)} ({', '.join(map(str, seeds))})"


def sort_key(k):
    return (k[1] == "—", k[1], ORDER.index(k[0]), k[2])


def rows_table(pooled):
    print("| Method | Targets | LR | Seeds Go | Seeds PEFT | Dev Go | Dev PEFT | Δ dev ± s.e. | Held-out Go | Held-out PEFT | Δ held-out ± s.e. |")
    print("|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
    keys = {k[1:] for k in pooled}
    for method, targets, lr in sorted(keys, key=lambda k: sort_key(k)):
        g, p = pooled.get(("go", method, targets, lr)), pooled.get(("peft", method, targets, lr))
        if not (g and p):
            continue
        gd, pd = stats(v[0] for v in g.values()), stats(v[0] for v in p.values())
        gt, pt = stats(v[1] for v in g.values()), stats(v[1] for v in p.values())
        print(f"| {NAMES[method]} | {targets} | {lr:g} | {seed_span(g)} | {seed_span(p)} | {cell(gd)} | {cell(pd)} | {delta(gd, pd)} | "
              f"{cell(gt)} | {cell(pt)} | {delta(gt, pt)} |")


def sweep_table(pooled):
    best = {}
    print("Mean dev accuracy ± std over the seeds at each learning rate (best of each stack in bold):\n")
    print("| Method | Targets | Stack | " + " | ".join(["LR: dev (seeds)"] * 1) + " |")
    print("|---|---|---|---|")
    for method, targets in sorted({(k[1], k[2]) for k in pooled}, key=lambda k: sort_key((k[0], k[1], 0))):
        for stack in ("go", "peft"):
            points = sorted((k[3], v) for k, v in pooled.items() if k[:3] == (stack, method, targets))
            if not points:
                continue
            st = [(lr, stats(v[0] for v in runs.values()), stats(v[1] for v in runs.values())) for lr, runs in points]
            b = max(st, key=lambda x: x[1][0])
            best[(method, targets, stack)] = b
            cells = "; ".join((f"**{lr:g}: {cell(dev)} ({dev[2]})**" if lr == b[0] else f"{lr:g}: {cell(dev)} ({dev[2]})") for lr, dev, _ in st)
            print(f"| {NAMES[method]} | {targets} | {'Go' if stack == 'go' else 'PEFT'} | {cells} |")
    print("\nEach stack at its best dev learning rate:\n")
    print("| Method | Targets | Best LR Go | Dev Go | Held-out Go | Best LR PEFT | Dev PEFT | Held-out PEFT | Δ dev ± s.e. | Δ held-out ± s.e. |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for method, targets in sorted({(k[0], k[1]) for k in best}, key=lambda k: sort_key((k[0], k[1], 0))):
        g, p = best.get((method, targets, "go")), best.get((method, targets, "peft"))
        if not (g and p):
            continue
        print(f"| {NAMES[method]} | {targets} | {g[0]:g} | {cell(g[1])} | {cell(g[2])} | {p[0]:g} | {cell(p[1])} | {cell(p[2])} | "
              f"{delta(g[1], p[1])} | {delta(g[2], p[2])} |")


def main(argv):
    sweep = "--sweep" in argv
    args = [a for a in argv if a != "--sweep"]
    if not args:
        sys.exit(__doc__)
    pooled = load(args)
    (sweep_table if sweep else rows_table)(pooled)


if __name__ == "__main__":
    main(sys.argv[1:])
