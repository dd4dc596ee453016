#!/usr/bin/env python3
"""Side-by-side table of a run_matrix.sh directory: Go (results.json) against PEFT (peft-*.json).

    python3 examples/compare/matrix_table.py OUT_DIR

One row per configuration: dev and held-out accuracy as mean ± std over the seeds, the difference
of the means, trainable parameters, seconds per epoch (wall), CPU per step and peak RSS, Go then
PEFT. Standard library only.
"""

import json
import os
import statistics
import sys

NAMES = {"hra": "HRA", "lora": "LoRA", "oft": "OFT", "head": "head only", "full": "full fine-tuning"}
CONFIGS = ["hra-qv", "lora-qv", "oft-qv", "hra-all", "lora-all", "oft-all", "head", "full"]


def ms(xs):
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def acc(xs):
    m, s = ms(xs)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(xs) > 1 else f"{100 * m:.1f}"


def main(out):
    print("| Method | Targets | Seeds | Dev Go | Dev PEFT | Δ dev | Held-out Go | Held-out PEFT | Trainable | s/epoch Go | s/epoch PEFT | CPU/step Go | CPU/step PEFT | Peak RSS Go | Peak RSS PEFT |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in CONFIGS:
        gp, pp = os.path.join(out, f"go-{name}", "results.json"), os.path.join(out, f"peft-{name}.json")
        if not (os.path.exists(gp) and os.path.exists(pp)):
            continue
        g = json.load(open(gp))["methods"][0]
        p = json.load(open(pp))["methods"][0]
        runs = p["runs"]
        pdev, ptest = [r["dev_accuracy"] for r in runs], [r["test_accuracy"] for r in runs]
        targets = "all six" if name.endswith("-all") else ("q, v" if name.endswith("-qv") else "—")
        delta = 100 * (statistics.fmean(g["dev_accuracies"]) - statistics.fmean(pdev))
        print(f"| {NAMES[g['method']]} | {targets} | {len(g['seeds'])} | {acc(g['dev_accuracies'])} | {acc(pdev)} | {delta:+.1f} | "
              f"{acc(g['test_accuracies'])} | {acc(ptest)} | {g['trainable_params']:,} | "
              f"{g['epoch_seconds']:.1f} | {statistics.fmean(r['epoch_seconds'] for r in runs):.1f} | "
              f"{g['cpu_step_ms']:.0f} ms | {1000 * statistics.fmean(r['cpu_step_seconds'] for r in runs):.0f} ms | "
              f"{g['peak_rss_bytes'] / 2**20:.0f} MiB | {max(r['peak_rss_bytes'] for r in runs) / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main(sys.argv[1])
