#!/usr/bin/python3
"""Times the configurations of package bench in PyTorch and in Go, in one run, and prints one
Markdown table of the times and their ratios Go/PyTorch. bench/RESULTS.md is its output.

Run from the repository root with Debian's PyTorch (apt-get install python3-torch
libopenblas0-pthread):

    /usr/bin/python3 bench/pytorch_compare.py > bench/RESULTS.md

Options: --only REGEX keeps the configurations whose name matches (both sides); --benchtime
SECONDS is the time spent on each configuration per round, --rounds N the number of rounds; --no-go
skips the Go benchmarks. Both sides report the fastest round's mean time per call: on a machine
shared with other work the fastest round is the least disturbed one (PyTorch's OpenMP threads, which
spin while they wait, slow down several-fold when another process takes a core).

PyTorch runs on 2 threads (torch.set_num_threads(2)), in float32, with plain torch modules and no
transformers or peft: a BERT encoder written out as transformers' BertModel computes it (eager
attention with an additive mask, exact GELU, post-LayerNorm, hidden dropout 0.1 in training) and
the adapters as PEFT's layers compute them:

  HRA   HRALinear.forward: delta = H_1...H_r built as an in x in matrix from the unit columns of
        hra_u (weight = weight - 2 weight u u^T per reflection), new_weight = eye @ delta, then
        W @ new_weight and F.linear(x, W H, b), in every forward;
  LoRA  base(x) + lora_B(lora_A(x)) * alpha / r (lora_dropout 0, so no dropout module);
  OFT   OFTRotationModule with the exact Cayley transform (use_cayley_neumann=False, as the Go
        default): Q = S - S^T from oft_R, R = solve(I + Q, I - Q, left=False) per block, tokens
        cut into blocks and rotated by einsum, then the base layer.

A training step is zero_grad, forward, mean cross-entropy, backward, clip_grad_norm_(1.0) and
AdamW, as train.Fit's step. The "frozen" method trains the head and the embeddings' LayerNorm:
the backward then runs through every frozen layer, the baseline of the adapters' overhead.
"""
import argparse
import datetime
import math
import os
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # hidden, layers, heads, FFN; as bench/model_test.go
    "tiny": (128, 2, 2, 512),
    "minilm": (384, 6, 12, 1536),
}
SEQ_LEN = 32
BATCHES = (1, 8)
VOCAB = 30522
DROPOUT = 0.1
METHODS = ("head", "frozen", "hra8", "lora8", "oft32", "full")
GEMM_SHAPES = [
    (32, 384, 384), (32, 1536, 384), (32, 384, 1536),
    (256, 384, 384), (256, 1536, 384), (256, 384, 1536),
    (32, 768, 768), (256, 768, 768),
    (32, 128, 128), (32, 512, 128), (256, 128, 128), (256, 512, 128),
    (512, 1536, 384),
]
ADAPTER_DIMS = (768, 384)
ADAPTERS = ("base", "hra8", "lora8", "oft32")
INFERENCE = ("base", "hra8-merged", "lora8-merged", "oft32-merged", "hra8-unmerged")


# ---- adapters, as PEFT computes them ----

class HRALinear(nn.Module):
    def __init__(self, base, r=8):
        super().__init__()
        self.base = base
        self.hra_u = nn.Parameter(torch.empty(base.in_features, r).uniform_(-1, 1) / math.sqrt(r))

    def delta(self):
        u = self.hra_u / self.hra_u.norm(dim=0)
        weight = torch.eye(u.shape[0])
        for i in range(u.shape[1]):
            ui = u[:, i].view(-1, 1)
            weight = weight - 2 * weight @ ui @ ui.t()
        return weight

    def forward(self, x):
        new_weight = torch.mm(torch.eye(self.base.in_features), self.delta())
        new_weight = torch.mm(self.base.weight, new_weight)
        return F.linear(x, new_weight, self.base.bias)

    def merged(self):
        with torch.no_grad():
            self.base.weight.copy_(self.base.weight @ self.delta())
        return self.base


class LoRALinear(nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.uniform_(self.lora_B.weight, -0.05, 0.05)  # PEFT starts at 0; cost is the same
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling

    def merged(self):
        with torch.no_grad():
            self.base.weight += self.scaling * self.lora_B.weight @ self.lora_A.weight
        return self.base


class OFTLinear(nn.Module):
    def __init__(self, base, block_size=32):
        super().__init__()
        self.base = base
        self.b = block_size
        self.r = base.in_features // block_size
        self.oft_R = nn.Parameter(torch.empty(self.r, block_size * (block_size - 1) // 2).uniform_(-0.05, 0.05))
        self.rows, self.cols = torch.triu_indices(block_size, block_size, 1)

    def rotation(self):
        s = torch.zeros(self.r, self.b, self.b)
        s[:, self.rows, self.cols] = self.oft_R
        q = s - s.transpose(-2, -1)
        eye = torch.eye(self.b).unsqueeze(0).expand_as(q)
        return torch.linalg.solve(eye + q, eye - q, left=False)

    def forward(self, x):
        shape = x.shape
        x = x.reshape(*shape[:-1], self.r, self.b)
        x = torch.einsum("...rk,rkc->...rc", x, self.rotation()).reshape(shape)
        return self.base(x)

    def merged(self):
        with torch.no_grad():
            self.base.weight.copy_((torch.block_diag(*self.rotation()) @ self.base.weight.t()).t())
        return self.base


ADAPTER_TYPES = {"hra8": HRALinear, "lora8": LoRALinear, "oft32": OFTLinear}


# ---- BERT, as transformers' BertModel computes it ----

class Layer(nn.Module):
    def __init__(self, h, heads, ffn):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attention_output = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=1e-12)
        self.intermediate = nn.Linear(h, ffn)
        self.output = nn.Linear(ffn, h)
        self.output_norm = nn.LayerNorm(h, eps=1e-12)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x, mask):
        b, n, h = x.shape
        dh = h // self.heads

        def split(t):
            return t.view(b, n, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + mask
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.attention_norm(self.dropout(self.attention_output(ctx)) + x)
        return self.output_norm(self.dropout(self.output(F.gelu(self.intermediate(x)))) + x)


class Bert(nn.Module):
    def __init__(self, shape, labels=2):
        super().__init__()
        h, layers, heads, ffn = SHAPES[shape]
        self.word = nn.Embedding(VOCAB, h)
        self.position = nn.Embedding(512, h)
        self.token_type = nn.Embedding(2, h)
        self.norm = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, ffn) for _ in range(layers))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, labels)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, ids):
        b, n = ids.shape
        positions = torch.arange(n).unsqueeze(0)
        x = self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids))
        x = self.dropout(self.norm(x))
        mask = torch.zeros(b, 1, 1, n)  # (1 - attention_mask) * min, all tokens real
        for layer in self.layers:
            x = layer(x, mask)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))


def build(shape, method):
    """The model with method's adapters on query and value and its trainable parameters."""
    torch.manual_seed(0)
    model = Bert(shape)
    for p in model.parameters():
        p.requires_grad_(method == "full")
    if method in ADAPTER_TYPES:
        for layer in model.layers:
            layer.query = ADAPTER_TYPES[method](layer.query)
            layer.value = ADAPTER_TYPES[method](layer.value)
    if method != "full":
        trained = [model.pooler, model.classifier] + ([model.norm] if method == "frozen" else [])
        for module in trained:
            for p in module.parameters():
                p.requires_grad_(True)
    return model, [p for p in model.parameters() if p.requires_grad]


def merge(model):
    for layer in model.layers:
        layer.query, layer.value = layer.query.merged(), layer.value.merged()


# ---- timing ----

def time_ms(fn, benchtime, rounds):
    """The fastest round's mean time of fn in ms, each round running benchtime seconds."""
    fn()
    fn()
    means = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= benchtime:
                break
        means.append(elapsed / n * 1e3)
    return min(means)


def random_ids(batch, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30000, (batch, SEQ_LEN), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    return ids


def pytorch_configs():
    """Yields (name, fn, divisor): the time of fn divided by divisor is reported."""
    for m, n, k in GEMM_SHAPES:
        def gemm(m=m, n=n, k=k):
            a, w, c = torch.rand(m, k), torch.rand(n, k), torch.empty(m, n)
            return lambda: torch.mm(a, w.t(), out=c)
        yield f"Gemm/{m}x{n}x{k}", gemm, 1
    for d in ADAPTER_DIMS:
        for a in ADAPTERS:
            def adapter(d=d, a=a):
                torch.manual_seed(3)
                layer = nn.Linear(d, d)
                layer.requires_grad_(False)
                if a != "base":
                    layer = ADAPTER_TYPES[a](layer)
                params = [p for p in layer.parameters() if p.requires_grad]
                x = (torch.rand(SEQ_LEN, d) * 0.1 - 0.05).requires_grad_(True)
                upstream = torch.rand(SEQ_LEN, d) * 0.1 - 0.05

                def step():
                    layer(x).backward(upstream)
                    x.grad = None
                    for p in params:
                        p.grad = None
                return step
            yield f"Adapter/d={d}/{a}", adapter, 1
    for shape in SHAPES:
        for method in METHODS:
            for batch in BATCHES:
                def train_step(shape=shape, method=method, batch=batch):
                    model, params = build(shape, method)
                    model.train()
                    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0)
                    ids = random_ids(batch, 7)
                    labels = torch.randint(0, 2, (batch,))

                    def step():
                        opt.zero_grad(set_to_none=True)
                        loss = F.cross_entropy(model(ids), labels)
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(params, 1.0)
                        opt.step()
                    return step
                yield f"TrainStep/{shape}/{method}/batch={batch}", train_step, batch
    for shape in SHAPES:
        for case in INFERENCE:
            for batch in BATCHES:
                def inference(shape=shape, case=case, batch=batch):
                    method = case.split("-")[0] if case != "base" else "head"
                    model, _ = build(shape, method)
                    model.eval()
                    if case.endswith("-merged"):
                        merge(model)
                    ids = random_ids(batch, 9)

                    def run():
                        with torch.no_grad():
                            model(ids)
                    return run
                yield f"Inference/{shape}/{case}/batch={batch}", inference, 1


GO_LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$")
METRIC = re.compile(r"([-+\d.e]+) (\S+)")
RATIOS = ("merged/base", "adapter/frozen")  # metrics of the alternating benchmarks


def run_go(only, benchtime, rounds):
    """Runs the Go benchmarks and returns, per name, the metrics of its fastest round (by ns/op),
    with each ratio metric replaced by its median over the rounds."""
    cmd = ["go", "test", "./bench", "-run", "^$", "-bench", ".", "-benchmem", "-timeout", "3h",
           "-benchtime", f"{benchtime}s", "-count", str(rounds)]
    print(f"running: {' '.join(cmd)}", file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    runs = {}
    for line in out.splitlines():
        match = GO_LINE.match(line)
        if match and not (only and not re.search(only, match.group(1))):
            metrics = {unit: float(value) for value, unit in METRIC.findall(match.group(2))}
            runs.setdefault(match.group(1), []).append(metrics)
    results = {}
    for name, rs in runs.items():
        best = dict(min(rs, key=lambda m: m["ns/op"]))
        for ratio in RATIOS:
            if ratio in best:
                best[ratio] = statistics.median(m[ratio] for m in rs)
        results[name] = best
    return results


def machine():
    fields = {}
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = fields.get("Flags", "").split()
    simd = " ".join(f for f in ("avx2", "fma", "avx512f") if f in flags)
    return f"{fields.get('Model name')}, {fields.get('CPU(s)')} CPUs, L2 {fields.get('L2 cache')}, L3 {fields.get('L3 cache')}, {simd}"


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def gflops(name, ms):
    m, n, k = map(int, name.split("/")[1].split("x"))
    return 2 * m * n * k / (ms * 1e-3) / 1e9


def targets(torch_ms, go):
    """Prints the issue's targets, as ratios measured side by side."""
    lines = []
    for batch in BATCHES:
        name = f"TrainStep/minilm/hra8/batch={batch}"
        if name in go and name in torch_ms:
            ratio = go[name]["ns/op"] / 1e6 / batch / torch_ms[name]
            lines.append(f"HRA training step, MiniLM, batch {batch}: Go/PyTorch = {ratio:.2f} (target ≤ 1.5)")
    for name, m in go.items():
        if "merged/base" in m:
            lines.append(f"Merged inference {name.split('/', 1)[1]}: {m['merged/base']:.3f} × the base model's time (target ≤ 1.05)")
    for name, m in go.items():
        if "adapter/frozen" in m:
            lines.append(f"Adapter overhead {name.split('/', 1)[1]}: {100 * (m['adapter/frozen'] - 1):+.1f}% over the frozen "
                         "model's training step (target for HRA ≤ 10%)")
    for d in ADAPTER_DIMS:
        base, hra = go.get(f"Adapter/d={d}/base"), go.get(f"Adapter/d={d}/hra8")
        if base and hra:
            lines.append(f"HRA overhead over one bare {d}×{d} layer, forward+backward on 32 tokens: "
                         f"{100 * (hra['ns/op'] / base['ns/op'] - 1):+.1f}%")
    if lines:
        print("\nTargets. The merged/base and adapter/frozen ratios come from Go benchmarks that alternate the two")
        print("models call by call (median over the rounds), so that load on the machine cancels out:\n")
        for line in lines:
            print(f"- {line}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="regular expression on configuration names")
    parser.add_argument("--benchtime", type=float, default=0.5, help="seconds per configuration and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-go", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

    started, load_before = datetime.datetime.now(datetime.timezone.utc), load()
    torch_ms = {}
    for name, make, divisor in pytorch_configs():
        if args.only and not re.search(args.only, name):
            continue
        torch_ms[name] = time_ms(make(), args.benchtime, args.rounds) / divisor
        print(f"pytorch {name}: {torch_ms[name]:.3f} ms", file=sys.stderr)
    load_between = load()
    go = {} if args.no_go else run_go(args.only, args.benchtime, args.rounds)
    load_after = load()

    go_version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    print("# Go vs PyTorch on the same CPU\n")
    command = " ".join(["/usr/bin/python3", "bench/pytorch_compare.py"] + sys.argv[1:])
    print(f"- Command: `{command}` (from the repository root)")
    print(f"- Date: {started:%Y-%m-%d %H:%M} UTC")
    print(f"- Machine: {machine()}")
    print(f"- PyTorch {torch.__version__} (2 threads), {go_version}")
    print(f"- Load average (1, 5, 15 min): {load_before} before PyTorch, {load_between} before Go, {load_after} after")
    print(f"- Each figure: the fastest of {args.rounds} rounds, each the mean over {args.benchtime:g} s\n")
    print("Training steps are per example (the step's time divided by the batch size); the other rows")
    print("are per call. Go allocs are per call (per step for training).\n")
    print("| config | PyTorch ms | Go ms | Go/PyTorch | Go allocs |")
    print("|---|---:|---:|---:|---:|")
    for name, ms in torch_ms.items():
        g = go.get(name)
        divisor = int(name.rsplit("batch=", 1)[1]) if name.startswith("TrainStep/") else 1
        label = name
        if name.startswith("Gemm/"):
            label += f" ({gflops(name, ms):.0f}" + (f" / {g['GFLOP/s']:.0f}" if g else "") + " GFLOP/s)"
        if g is None:
            print(f"| {label} | {ms:.3f} | | | |")
            continue
        go_ms = g["ns/op"] / 1e6 / divisor
        print(f"| {label} | {ms:.3f} | {go_ms:.3f} | {go_ms / ms:.2f} | {g.get('allocs/op', 0):.0f} |")
    targets(torch_ms, go)
    extra = [n for n in go if n not in torch_ms and not any(r in go[n] for r in RATIOS)]
    if extra:
        print("\nGo only (per call or step):\n")
        print("| config | Go ms | Go allocs |")
        print("|---|---:|---:|")
        for name in extra:
            print(f"| {name} | {go[name]['ns/op'] / 1e6:.3f} | {go[name].get('allocs/op', 0):.0f} |")


if __name__ == "__main__":
    main()
