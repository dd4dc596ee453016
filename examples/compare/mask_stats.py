#!/usr/bin/env python3
"""Statistics of the dropout masks in a Go --masks file: are they the independent Bernoulli draws
that torch's dropout makes?

It prints, per kind of site (embeddings and layer outputs "tokens", attention probabilities
"attention", the classifier's "sequences"), the fraction of values kept against 1 − p, and the
correlation between masks that should be independent, as the mean and the largest |r| and as z
(r·√n, about N(0, 1) for independent masks of n values, so |z| beyond ~4 among a few thousand
pairs is a dependence; pairs of fewer than 64 values are left out):

- sites: the same sequence at two sites of the same size (e.g. layer 1's and layer 4's FFN output),
- heads: two heads of the same attention site and sequence,
- sequences: two sequences of the same pass at the same site (first n values of both),
- steps: the same site for sequences of different steps (first n values),
- positions: within a tokens mask, a token's row against the next token's row,
- runs (with --other, the masks of a run with another seed): the same example at the same site
  in the two runs; keys restart at 0 in every run, so only the seed tells the runs' masks apart.

Usage: mask_stats.py MASKS [--other MASKS] [--method M] [--max-keys N]
Needs numpy only.
"""

import argparse
import json
import math
from collections import defaultdict

import numpy as np


def read(path, method, max_keys):
    """key -> {site: (kind, p, bits)}, for the first max_keys keys of method's records."""
    out = defaultdict(dict)
    with open(path, "rb") as f:
        while line := f.readline():
            rec = json.loads(line)
            for key, n in zip(rec["keys"], rec["sizes"]):
                packed = f.read((n + 7) // 8)
                if (method and rec["method"] != method) or key >= max_keys:
                    continue
                out[key][rec["site"]] = (rec["kind"], rec["p"], np.unpackbits(np.frombuffer(packed, dtype=np.uint8))[:n])
    return out


def corr(a, b):
    """Pearson's r of the first n values of a and b, and n; None for fewer than 64 values, where
    r·√n is far from normal."""
    n = min(len(a), len(b))
    a, b = a[:n].astype(np.float64), b[:n].astype(np.float64)
    sa, sb = a.std(), b.std()
    if n < 64 or sa == 0 or sb == 0:
        return None
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb)), n


class Pairs:
    """Running summary of correlations between masks that should be independent."""

    def __init__(self):
        self.r, self.z = [], []

    def add(self, c):
        if c:
            r, n = c
            self.r.append(r)
            self.z.append(r * math.sqrt(n))

    def line(self, name):
        if not self.r:
            return f"  {name:<10} no pairs"
        z = np.array(self.z)
        return (f"  {name:<10} {len(self.r):6d} pairs  mean r {np.mean(self.r):+.5f}  max |r| {np.max(np.abs(self.r)):.4f}  "
                f"mean z {z.mean():+.3f}  sd z {z.std():.3f}  max |z| {np.abs(z).max():.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("masks")
    ap.add_argument("--method", default="")
    ap.add_argument("--max-keys", type=int, default=256, help="examples read (keys 0..N-1)")
    ap.add_argument("--batch", type=int, default=16, help="examples per step, to tell steps apart")
    ap.add_argument("--other", default="", help="masks of another run (seed) of the same data, to correlate with")
    a = ap.parse_args()
    m = read(a.masks, a.method, a.max_keys)
    o = read(a.other, "", a.max_keys) if a.other else {}  # whatever method the other run trained
    keys = sorted(m)
    print(f"{len(keys)} sequences, {len(m[keys[0]])} sites per pass")

    kept, total, p_of = defaultdict(int), defaultdict(int), {}
    site_kept, site_total = defaultdict(int), defaultdict(int)
    for k in keys:
        for site, (kind, p, bits) in m[k].items():
            kept[kind] += int(bits.sum())
            total[kind] += len(bits)
            p_of[kind] = p
            site_kept[site] += int(bits.sum())
            site_total[site] += len(bits)
    print("kept fraction:")
    for kind in kept:
        f, n, q = kept[kind] / total[kind], total[kind], 1 - p_of[kind]
        print(f"  {kind:<10} {f:.5f} of {n} values (1 − p = {q:.5f}, z = {(f - q) / math.sqrt(q * (1 - q) / n):+.2f})")

    z = []
    for x in sorted(site_total):
        q = 1 - p_of[m[keys[0]][x][0]]
        z.append((site_kept[x] / site_total[x] - q) / math.sqrt(q * (1 - q) / site_total[x]))
    print(f"  per site   z of the kept fraction from {min(z):+.2f} to {max(z):+.2f} over {len(z)} sites")
    print("correlations between masks that should be independent:")
    sites, heads, seqs, steps, pos = Pairs(), Pairs(), Pairs(), Pairs(), Pairs()
    for k in keys:
        ss = sorted(m[k])
        for i, s in enumerate(ss):
            kind, _, bits = m[k][s]
            for t in ss[i + 1 :]:
                if m[k][t][0] == kind:
                    sites.add(corr(bits, m[k][t][2]))
            if kind == "attention":
                # heads: the l×l blocks; the head count is the first of these that divides the
                # size into squares (12 for MiniLM and BERT-base).
                for h in (12, 16, 8, 4, 2):
                    l2 = len(bits) // h
                    if len(bits) % h == 0 and int(math.isqrt(l2)) ** 2 == l2:
                        blocks = bits.reshape(h, l2)
                        for x in range(h - 1):
                            heads.add(corr(blocks[x], blocks[x + 1]))
                        break
            if kind == "tokens" and s == ss[0]:
                width = 384 if len(bits) % 384 == 0 else len(bits)
                rows = bits.reshape(-1, width)
                for r in range(len(rows) - 1):
                    pos.add(corr(rows[r], rows[r + 1]))
    for k in keys:
        nxt = k + 1
        if nxt in m:
            same_step = k // a.batch == nxt // a.batch
            for s in m[k]:
                if s in m[nxt]:
                    (seqs if same_step else steps).add(corr(m[k][s][2], m[nxt][s][2]))
        other = k + a.batch
        if other in m and nxt not in m or (other in m and k % 4 == 0):
            for s in m[k]:
                if s in m[other]:
                    steps.add(corr(m[k][s][2], m[other][s][2]))
    runs = Pairs()
    for k in keys:
        for s in m[k]:
            if k in o and s in o[k]:
                runs.add(corr(m[k][s][2], o[k][s][2]))
    for name, pr in [("sites", sites), ("heads", heads), ("sequences", seqs), ("steps", steps), ("positions", pos), ("runs", runs)]:
        print(pr.line(name))


if __name__ == "__main__":
    main()
