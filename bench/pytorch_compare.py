#!/usr/bin/env python3
"""Times the configurations of package bench in PyTorch (1 and 2 threads), ONNX Runtime (inference,
1 and 2 intra-op threads) and Go, in one run, and prints one Markdown table of the times, the ratios
Go / PyTorch-best and Go / ONNX-Runtime-best and the peak RSS of each configuration.

Run from the repository root with the reference environment of integration/pyref (real torch,
transformers, peft, onnxruntime, onnx and onnxscript; integration/pyref/setup.sh makes it):

    $SPAGO_PEFT_VENV/bin/python bench/pytorch_compare.py > bench/RESULTS.md
    $SPAGO_PEFT_VENV/bin/python bench/pytorch_compare.py --quick   # every row end to end, minutes

Options: --only REGEX keeps the configurations whose name matches (every side); --benchtime
SECONDS per configuration and round, --rounds N; --threads 1,2 the PyTorch and ONNX Runtime thread
counts; --epoch-steps N times N steps of each epoch row and extrapolates them to the epoch (0, the
default: the whole epoch); --isolate runs every configuration in a process of its own; --no-go,
--no-torch skip a side. --quick is --benchtime 0 --rounds 1 --epoch-steps 4 (one call per
configuration and no warm-up, epoch rows extrapolated from 4 steps): it checks the harness, it
measures nothing.

How each side runs:

- Every PyTorch and ONNX Runtime thread count runs in worker processes of its own, started with
  OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS set to it and calling
  torch.set_num_threads; a worker runs one group of configurations (family and shape: all
  bert-base training steps, say), or one configuration with --isolate, or everything with --quick.
  PyTorch's figure is the best of the thread counts, and both are printed: on 2 cores, 2 OpenMP
  threads can be slower than one.
- Models are transformers' BertForSequenceClassification (its default attention, SDPA) built from
  a BertConfig of the shape with random weights, hidden dropout 0.1 in training steps, attention
  dropout 0 (as our encoder); adapters are real peft 0.21.2 on query and value with the pooler
  and classifier trained (modules_to_save): HRAConfig(r=8), LoraConfig(r=8, lora_alpha=16),
  OFTConfig(oft_block_size=32, use_cayley_neumann=False: the exact Cayley transform, our default).
  PEFT's HRA builds the in x in matrix H and W·H in every forward; the rows marked "(activations)"
  replace it by HRA reflecting the activations (ActivationHRA below, plain torch): x·Hᵀ = x − ((x·U)·Tᵀ)·Uᵀ
  in compact WY form, two thin products, the maths of peft/hra, checked against PEFT's layer at
  start-up.
- A training step is zero_grad, forward, mean cross-entropy, backward, clip_grad_norm_(1.0) and
  AdamW, as train.Fit's step; "frozen" trains the head and the embeddings' LayerNorm, so the
  backward runs through every frozen layer. Inference is the logits under no_grad in eval mode;
  merged adapters are PEFT's merge_and_unload().
- ONNX Runtime runs the base model exported by torch.onnx.export (dynamo exporter, static shapes),
  checked against PyTorch's logits, with SessionOptions set explicitly: intra_op_num_threads = the
  thread count, inter_op_num_threads 1, sequential execution, ORT_ENABLE_ALL graph optimisations,
  spinning allowed (its default). Merged adapters are the base graph with other weights, so only
  the base rows have an ONNX Runtime figure.
- The epoch rows train SST-2 (../shared/data/sst2, or $SPAGO_PEFT_SHARED/data/sst2) at batch 32 on
  sst-bert-tiny for every method of examples/compare: the Go side through finetune.Setup.Train
  (BenchmarkEpoch), the PyTorch side the same loop in transformers + peft (shuffled batches padded
  to their longest sentence, max length 128, AdamW with the same learning rates and linear warm-up
  over 6%, clipping at 1, no dropout). Their figure is the mean step time times the epoch's steps.
- Go runs its benchmarks (go test -c, then the test binary per group, with GOMAXPROCS = all cores).
- Peak RSS: every configuration, in any process, resets the kernel's high-water mark
  (/proc/self/clear_refs) after freeing what it can, and reports VmHWM at its end: the memory that
  configuration needs, including the runtime (Python with torch, or Go) and the model's weights.

Inference runs under torch.inference_mode(). Every timed figure is the fastest round's mean time
per call: on a shared machine the fastest round is the least disturbed one. The sides take turns:
each round runs every block of configurations (a family and shape, such as the MiniLM inference
rows) on PyTorch, ONNX Runtime and Go one after the other, the order reversed every other round,
so that a slow spell of the machine (its speed drifts by 10-15 % over minutes) reaches both sides
of a ratio. Training steps are per example (the step's time divided by the batch size).
"""
import argparse
import contextlib
import ctypes
import datetime
import gc
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SHAPES = {  # hidden, layers, heads, FFN; as bench/model_test.go
    "tiny": (128, 2, 2, 512),
    "minilm": (384, 6, 12, 1536),
    "bert-base": (768, 12, 12, 3072),
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
EPOCH_METHODS = ("hra", "lora", "oft", "head", "full")  # finetune.Kinds
EPOCH_LR = {"hra": 2e-3, "lora": 1e-3, "oft": 2e-3, "head": 2e-3, "full": 1e-4}  # finetune.DefaultLR
EPOCH_BATCH, EPOCH_MAX_LEN, EPOCH_WARMUP = 32, 128, 0.06
ACTIVATIONS = " (activations)"  # suffix of the rows with ActivationHRA instead of PEFT's HRA
REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def shared_dir():
    return os.environ.get("SPAGO_PEFT_SHARED") or os.path.join(REPO, "..", "shared")


# ---- configurations: name, engine and a maker returning (call, divisor) ----

class Config:
    def __init__(self, name, engine, make, divisor=1):
        self.name, self.engine, self.make, self.divisor = name, engine, make, divisor
        parts = name.split(ACTIVATIONS)[0].split("/")
        self.family = parts[0]
        self.shape = parts[1] if parts[0] in ("TrainStep", "Inference") else ""
        self.go_name = name.split(ACTIVATIONS)[0]

    @property
    def key(self):
        return f"{self.engine}:{self.name}"


def configs():
    """Every configuration, in the order of the table."""
    out = []
    for m, n, k in GEMM_SHAPES:
        out.append(Config(f"Gemm/{m}x{n}x{k}", "torch", lambda m=m, n=n, k=k: gemm(m, n, k)))
    for d in ADAPTER_DIMS:
        for a in ADAPTERS:
            out.append(Config(f"Adapter/d={d}/{a}", "torch", lambda d=d, a=a: adapter_layer(d, a)))
        out.append(Config(f"Adapter/d={d}/hra8{ACTIVATIONS}", "torch", lambda d=d: adapter_layer(d, "hra8-act")))
    for shape in SHAPES:
        for method in METHODS:
            for batch in BATCHES:
                name = f"TrainStep/{shape}/{method}/batch={batch}"
                out.append(Config(name, "torch", lambda s=shape, m=method, b=batch: train_step(s, m, b), batch))
                if method == "hra8":
                    out.append(Config(name + ACTIVATIONS, "torch",
                                      lambda s=shape, b=batch: train_step(s, "hra8-act", b), batch))
    for shape in SHAPES:
        for case in INFERENCE:
            for batch in BATCHES:
                name = f"Inference/{shape}/{case}/batch={batch}"
                out.append(Config(name, "torch", lambda s=shape, c=case, b=batch: inference(s, c, b)))
                if case == "base":
                    out.append(Config(name, "ort", lambda s=shape, b=batch: ort_inference(s, b)))
    for method in EPOCH_METHODS:
        out.append(Config(f"Epoch/sst2/bert-tiny/{method}/batch={EPOCH_BATCH}", "torch", lambda m=method: epoch(m)))
    return out


# ---- the PyTorch side (worker processes only import torch) ----

def gemm(m, n, k):
    import torch
    a, w, c = torch.rand(m, k), torch.rand(n, k), torch.empty(m, n)
    return lambda: torch.mm(a, w.t(), out=c), 1


def unit_columns(hra_u):
    return hra_u / hra_u.norm(dim=0)


def wy_factor(u):
    """T (r x r, upper triangular) with H_1 H_2 ... H_r = I − U T Uᵀ for H_i = I − 2 u_i u_iᵀ."""
    import torch
    r = u.shape[1]
    gram = u.t() @ u
    t = torch.zeros(0, 0)
    for i in range(r):
        # T_i = [[T, −2 T U_{<i}ᵀ u_i], [0, 2]]
        col = -2 * (t @ gram[:i, i:i + 1]) if i else torch.zeros(0, 1)
        t = torch.cat([torch.cat([t, col], dim=1),
                       torch.cat([torch.zeros(1, i), torch.full((1, 1), 2.0)], dim=1)], dim=0)
    return t


def activation_hra():
    """ActivationHRA, a class built on first use so that importing this file needs no torch."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class ActivationHRA(nn.Module):
        """HRA on the activations: y = base(x·(H_1…H_r)ᵀ) with x·Hᵀ = x − ((x·U)·Tᵀ)·Uᵀ."""

        def __init__(self, base, r=8):
            super().__init__()
            self.base = base
            self.hra_u = nn.Parameter(torch.empty(base.in_features, r).uniform_(-1, 1) / math.sqrt(r))

        def forward(self, x):
            u = unit_columns(self.hra_u)
            right = wy_factor(u).t() @ u.t()  # r x in
            return F.linear(x - (x @ u) @ right, self.base.weight, self.base.bias)

    return ActivationHRA


def peft_hra_delta(u):
    """H_1…H_r as PEFT's HRALayer.get_delta_weight builds it (in x in)."""
    import torch
    weight = torch.eye(u.shape[0])
    for i in range(u.shape[1]):
        ui = u[:, i].view(-1, 1)
        weight = weight - 2 * weight @ ui @ ui.t()
    return weight


def check_activation_hra():
    """ActivationHRA computes what PEFT's HRA does: F.linear(x, W·H, b)."""
    import torch
    torch.manual_seed(5)
    layer = activation_hra()(torch.nn.Linear(48, 40))
    x = torch.randn(7, 48)
    want = torch.nn.functional.linear(x, layer.base.weight @ peft_hra_delta(unit_columns(layer.hra_u)), layer.base.bias)
    got = layer(x)
    if not torch.allclose(got, want, atol=1e-5, rtol=1e-4):
        raise SystemExit(f"ActivationHRA differs from PEFT's HRA by {(got - want).abs().max():.3g}")


def adapter_layer(d, kind):
    """One d x d layer's forward and backward on 32 tokens, bare or with an adapter as PEFT's
    layer computes it."""
    import torch
    import torch.nn as nn
    torch.manual_seed(3)
    layer = nn.Linear(d, d)
    layer.requires_grad_(False)
    if kind == "hra8-act":
        layer = activation_hra()(layer)
    elif kind != "base":
        layer = with_peft(nn.Sequential(layer), kind, ["0"], init_weights=False)
    params = [p for p in layer.parameters() if p.requires_grad]
    x = (torch.rand(SEQ_LEN, d) * 0.1 - 0.05).requires_grad_(True)
    upstream = torch.rand(SEQ_LEN, d) * 0.1 - 0.05

    def step():
        layer(x).backward(upstream)
        x.grad = None
        for p in params:
            p.grad = None
    return step, 1


def peft_config(kind, targets, modules_to_save=None, init_weights=True):
    import peft
    common = dict(target_modules=targets, modules_to_save=modules_to_save)
    if kind.startswith("hra"):
        return peft.HRAConfig(r=8, init_weights=init_weights, **common)
    if kind.startswith("lora"):
        return peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, init_lora_weights=init_weights, **common)
    if kind.startswith("oft"):
        return peft.OFTConfig(r=0, oft_block_size=32, use_cayley_neumann=False, init_weights=init_weights, **common)
    raise ValueError(kind)


def with_peft(model, kind, targets, modules_to_save=None, init_weights=True):
    import peft
    return peft.get_peft_model(model, peft_config(kind, targets, modules_to_save, init_weights))


def bert(shape, dropout):
    import torch
    import transformers
    h, layers, heads, ffn = SHAPES[shape]
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ffn, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
        layer_norm_eps=1e-12, hidden_dropout_prob=dropout, attention_probs_dropout_prob=0.0, num_labels=2)
    return transformers.BertForSequenceClassification(cfg)


def trainable(model, method):
    """Sets requires_grad as method trains model (a BertForSequenceClassification) and returns
    the model to call: PEFT's for its adapters."""
    if method == "full":
        model.requires_grad_(True)
        return model
    if method in ("hra8", "lora8", "oft32"):
        return with_peft(model, method, ["query", "value"], ["classifier", "pooler"])
    model.requires_grad_(False)
    if method == "hra8-act":
        for layer in model.bert.encoder.layer:
            attention = layer.attention.self
            attention.query = activation_hra()(attention.query)
            attention.value = activation_hra()(attention.value)
    head = [model.bert.pooler, model.classifier]
    if method == "frozen":
        head.append(model.bert.embeddings.LayerNorm)
    for module in head:
        module.requires_grad_(True)
    return model


def random_ids(batch, seed):
    import torch
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30000, (batch, SEQ_LEN), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    return ids


def train_step(shape, method, batch):
    import torch
    import torch.nn.functional as F
    model = trainable(bert(shape, DROPOUT), method)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0)
    ids = random_ids(batch, 7)
    labels = torch.randint(0, 2, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(input_ids=ids).logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return step, batch


def inference(shape, case, batch):
    import torch
    model = bert(shape, 0.0)
    if case != "base":
        model = with_peft(model, case.split("-")[0], ["query", "value"], init_weights=False)
        if case.endswith("-merged"):
            model = model.merge_and_unload()
    model.eval()
    ids = random_ids(batch, 9)

    def run():
        with torch.inference_mode():
            model(input_ids=ids)
    return run, 1


def ort_inference(shape, batch):
    import numpy as np
    import onnxruntime as ort
    import torch
    path = os.path.join(os.environ["BENCH_TMP"], f"{shape}-batch{batch}.onnx")
    model = bert(shape, 0.0).eval()
    ids = random_ids(batch, 9)
    if not os.path.exists(path):  # the other thread count's worker may have exported it
        # the dynamo exporter, static shapes; its progress lines go to stdout, which is ours
        with contextlib.redirect_stdout(sys.stderr):
            torch.onnx.export(model, (ids,), path, input_names=["input_ids"], output_names=["logits"],
                              dynamo=True, external_data=False)
    with torch.no_grad():
        want = model(input_ids=ids).logits.numpy()
    del model
    reset_peak_rss()  # ONNX Runtime's memory, not that of the PyTorch model exported
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ["BENCH_THREADS"])
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids.numpy()}
    got = session.run(None, feed)[0]
    if not np.allclose(got, want, atol=1e-4, rtol=1e-3):
        raise SystemExit(f"ONNX Runtime's logits differ from PyTorch's by {np.abs(got - want).max():.3g} ({shape})")
    return lambda: session.run(None, feed), 1


def epoch(method):
    """One SST-2 epoch on sst-bert-tiny (or --epoch-steps of it): returns the mean step time's
    call, which the worker times once and scales to the epoch."""
    import random
    import torch
    import torch.nn.functional as F
    import transformers
    base, data = os.path.join(shared_dir(), "models", "sst-bert-tiny"), os.path.join(shared_dir(), "data", "sst2")
    tokenizer = transformers.BertTokenizerFast(vocab_file=os.path.join(base, "vocab.txt"), do_lower_case=True)
    with open(os.path.join(data, "train.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    encoded = tokenizer([r[0] for r in rows], truncation=True, max_length=EPOCH_MAX_LEN)["input_ids"]
    labels = [int(r[1]) for r in rows]
    torch.manual_seed(42)
    model = transformers.BertForSequenceClassification.from_pretrained(
        base, num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    kind = {"hra": "hra8", "lora": "lora8", "oft": "oft32"}.get(method, method)
    model = trainable(model, kind)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    order = list(range(len(encoded)))
    random.Random(42).shuffle(order)
    per_epoch = math.ceil(len(order) / EPOCH_BATCH)
    steps = min(int(os.environ["BENCH_EPOCH_STEPS"]) or per_epoch, per_epoch)
    warmup = math.ceil(EPOCH_WARMUP * steps)
    opt = torch.optim.AdamW(params, lr=EPOCH_LR[method], weight_decay=0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    pad = tokenizer.pad_token_id

    def run():
        start = time.perf_counter()
        for s in range(steps):
            batch = order[s * EPOCH_BATCH:(s + 1) * EPOCH_BATCH]
            longest = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), longest), pad)
            mask = torch.zeros(len(batch), longest, dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, :len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, :len(encoded[i])] = 1
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, torch.tensor([labels[i] for i in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            schedule.step()
        return (time.perf_counter() - start) / steps * per_epoch * 1e3, steps
    return run, 1


# ---- worker: runs configurations at one thread count and prints one JSON line each ----

def reset_peak_rss():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def time_ms(fn, benchtime, rounds):
    """The fastest round's mean time of fn in ms, each round running benchtime seconds (at least
    one call), after two calls to warm up; none for benchtime 0 (--quick), which measures nothing."""
    for _ in range(0 if benchtime == 0 else 2):
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


def worker(names, benchtime, rounds):
    import torch
    import transformers
    transformers.logging.set_verbosity_error()  # the load report of the epoch rows' checkpoint
    threads = int(os.environ["BENCH_THREADS"])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    check_activation_hra()
    idle = peak_rss_mb()  # after the imports: what every figure of this process includes
    by_key = {c.key: c for c in configs()}
    for key in names:
        c = by_key[key]
        reset_peak_rss()
        call, divisor = c.make()
        if c.family == "Epoch":
            ms, steps = call()  # one pass: the epoch, or --epoch-steps of it, scaled to the epoch
            result = {"ms": ms, "steps": steps}
        else:
            result = {"ms": time_ms(call, benchtime, rounds) / divisor}
        result.update(key=key, threads=threads, rss_mb=peak_rss_mb(), idle_mb=idle)
        print(json.dumps(result), flush=True)
        del call
        gc.collect()


# ---- the parent: workers, Go, the table ----

def run_workers(chosen, args, threads_list, tmp, rounds, results):
    """Runs the torch and ORT configurations in workers, each timing rounds rounds, and merges
    what they measure into results ({key: {threads: result}}): a configuration's fastest time
    and its largest peak RSS over every call."""
    groups = {}
    for c in chosen:
        if args.isolate:
            group = c.key
        elif args.quick:
            group = c.engine
        else:
            group = (c.engine, c.family, c.shape)
        groups.setdefault(group, []).append(c.key)
    for group, keys in groups.items():
        for threads in threads_list:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                       OPENBLAS_NUM_THREADS=str(threads), BENCH_THREADS=str(threads), BENCH_TMP=tmp,
                       BENCH_EPOCH_STEPS=str(args.epoch_steps))
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--benchtime", str(args.benchtime),
                   "--rounds", str(rounds)] + keys
            print(f"worker, {threads} thread(s): {len(keys)} configuration(s) from {keys[0]}", file=sys.stderr)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
            for line in proc.stdout:
                r = json.loads(line)
                per = results.setdefault(r["key"], {})
                if threads in per:  # an earlier round's: keep the fastest time, the largest RSS
                    rss = max(per[threads]["rss_mb"] or 0, r["rss_mb"] or 0)
                    r = dict(min(per[threads], r, key=lambda v: v["ms"]), rss_mb=rss)
                per[threads] = r
                print(f"  {r['key']} ({threads}T): {r['ms']:.3f} ms, peak RSS {r['rss_mb'] or 0:.0f} MB", file=sys.stderr)
            if proc.wait() != 0:
                raise SystemExit(f"worker for {keys[0]}… with {threads} thread(s) failed (exit {proc.returncode})")


GO_LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$")
METRIC = re.compile(r"([-+\d.e]+) (\S+)")
RATIOS = ("merged/base", "adapter/frozen")  # metrics of the alternating benchmarks
GO_ONLY = ("Workers", "AdapterOverhead", "MergedInference")


def build_go(tmp):
    """Builds the Go benchmarks once; returns the test binary's path."""
    binary = os.path.join(tmp, "bench.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./bench"], check=True, cwd=REPO)
    return binary


def run_go(args, binary, only, rounds, runs, go_only=False):
    """Runs the Go benchmarks of the names in only, grouped as the workers are, each for rounds
    rounds (-test.count), or with go_only the Go-only benchmarks (GO_ONLY) whole, unless --only
    names none of them; appends each round's metrics to runs[name]."""
    if go_only:
        patterns = ["^Benchmark" + f + "$" for f in GO_ONLY if not args.only or re.search(args.only, f)]
    else:
        groups = {}
        for name in sorted(only):
            parts = name.split("/")
            if args.isolate:
                group = name
            elif args.quick or parts[0] not in ("TrainStep", "Inference"):
                group = parts[0]
            else:
                group = "/".join(parts[:2])
            groups.setdefault(group, []).append(parts)
        patterns = [level_pattern(["Benchmark" + p[0]] + p[1:] for p in names) for names in groups.values()]
    for pattern in patterns:
        epoch = pattern.startswith("^(BenchmarkEpoch)$")  # minutes per call: one call
        benchtime = "1x" if args.benchtime == 0 or epoch else f"{args.benchtime}s"
        cmd = [binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchmem", "-test.timeout", "3h",
               "-test.benchtime", benchtime, "-test.count", str(1 if epoch else rounds),
               f"-epoch-steps={args.epoch_steps}"]
        print(f"go: {' '.join(cmd[1:])}", file=sys.stderr)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=os.path.join(REPO, "bench")).stdout
        for line in out.splitlines():
            match = GO_LINE.match(line)
            if match:
                metrics = {unit: float(value) for value, unit in METRIC.findall(match.group(2))}
                runs.setdefault(match.group(1), []).append(metrics)
                print(f"  {line}", file=sys.stderr)
            elif "SKIP" in line or "skip" in line:
                print(f"  {line.strip()}", file=sys.stderr)


def best_go(args, runs):
    """Per name, the metrics of its fastest round (by ns/op), ratio metrics replaced by their
    medians."""
    results = {}
    for name, rs in runs.items():
        if args.only and not re.search(args.only, name) and name.split("/")[0] not in GO_ONLY:
            continue
        best = dict(min(rs, key=lambda m: m.get("epoch-s", m["ns/op"])))
        for ratio in RATIOS:
            if ratio in best:
                best[ratio] = statistics.median(m[ratio] for m in rs)
        results[name] = best
    return results


def run_interleaved(chosen, args, threads_list, tmp):
    """Runs every side's rounds interleaved: round after round, each block of configurations
    (a family and shape: the MiniLM inference rows, say) runs one round on every side, PyTorch
    and ONNX Runtime first in the first, third, … rounds and Go first in the others, so that a
    slow spell of the machine falls on both sides of a ratio rather than on one. The epoch rows
    run once (their figure is one pass). Returns the PyTorch/ONNX Runtime results and Go's best rounds."""
    binary = None if args.no_go else build_go(tmp)
    blocks = {}
    for c in chosen:
        blocks.setdefault(("", "") if args.quick else (c.family, c.shape), []).append(c)  # quick: one block
    torch_res, runs = {}, {}
    for r in range(args.rounds):
        for (family, shape), cs in blocks.items():
            if family == "Epoch" and r > 0:
                continue
            sides = []
            if not args.no_torch:
                sides.append(lambda: run_workers(cs, args, threads_list, tmp, 1, torch_res))
            if not args.no_go:
                sides.append(lambda: run_go(args, binary, {c.go_name for c in cs}, 1, runs))
            for side in (sides if r % 2 == 0 else sides[::-1]):
                side()
    if not args.no_go:
        run_go(args, binary, set(), args.rounds, runs, go_only=True)
    return torch_res, best_go(args, runs)


def level_pattern(names):
    """A -test.bench pattern matching the given benchmark names (lists of levels) and, within
    their group, the other combinations of their levels."""
    names = list(names)
    depth = max(len(n) for n in names)
    levels = [sorted({n[i] for n in names if len(n) > i}) for i in range(depth)]
    return "/".join("^(" + "|".join(re.escape(p) for p in level) + ")$" for level in levels)


def go_ms(name, metrics):
    """Go's figure for the row, in the row's unit (ms; s for epochs)."""
    if name.startswith("Epoch/"):
        return metrics.get("epoch-s")
    ms = metrics["ns/op"] / 1e6
    return ms / int(name.rsplit("batch=", 1)[1]) if name.startswith("TrainStep/") else ms


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


def fmt(x, digits=3):
    return "" if x is None else f"{x:.{digits}f}"


def table(chosen, torch_res, go, threads_list, args):
    def best(key):
        r = torch_res.get(key, {})
        return min((v["ms"] for v in r.values()), default=None)

    def rss(key):
        r = torch_res.get(key, {})
        return max((v["rss_mb"] or 0 for v in r.values()), default=None)

    heads = [f"PyTorch {t}T" for t in threads_list]
    ort_heads = [f"ORT {t}T" for t in threads_list]
    print("| config | " + " | ".join(heads) + " | PyTorch best | " + " | ".join(ort_heads)
          + " | Go | Go / PyTorch best | Go / ORT best | Go allocs | Go peak RSS MB | PyTorch peak RSS MB |")
    print("|---|" + "---:|" * (len(heads) + len(ort_heads) + 7))
    for c in chosen:
        if c.engine != "torch":
            continue
        per = torch_res.get(c.key, {})
        torch_best = best(c.key)
        ort_key = f"ort:{c.name}"
        ort = torch_res.get(ort_key, {})
        ort_best = best(ort_key)
        scale = 1e-3 if c.family == "Epoch" else 1  # epoch rows in seconds
        g = go.get(c.go_name)
        g_val = go_ms(c.go_name, g) if g else None
        label = c.name + (" (s per epoch)" if c.family == "Epoch" else "")
        cells = [fmt(per[t]["ms"] * scale) if t in per else "" for t in threads_list]
        cells.append(fmt(torch_best * scale) if torch_best is not None else "")
        cells += [fmt(ort[t]["ms"]) if t in ort else "" for t in threads_list]
        cells.append(fmt(g_val))
        cells.append(fmt(g_val / (torch_best * scale), 2) if g_val and torch_best else "")
        cells.append(fmt(g_val / ort_best, 2) if g_val and ort_best else "")
        cells.append(f"{g.get('allocs/op', 0):.0f}" if g else "")
        cells.append(fmt(g.get("peak-RSS-MB"), 0) if g else "")
        cells.append(fmt(rss(c.key), 0) + (f" (ORT {rss(ort_key):.0f})" if ort else ""))
        print(f"| {label} | " + " | ".join(cells) + " |")


def summary(chosen, torch_res, go):
    """The issue's targets and memory, as ratios measured side by side."""
    lines = []
    for c in chosen:
        if c.engine != "torch" or c.go_name not in go or c.family not in ("TrainStep", "Inference", "Epoch"):
            continue
        if re.match(r"TrainStep/[^/]+/frozen/", c.name):
            continue  # the baseline of the adapters' overhead, not a method (head-only is one: examples/compare's)
        torch_best = min((v["ms"] for v in torch_res.get(c.key, {}).values()), default=None)
        g = go_ms(c.go_name, go[c.go_name])
        if torch_best is None or g is None:
            continue
        ratio = g / (torch_best * (1e-3 if c.family == "Epoch" else 1))
        target = 0.8
        if ratio > target:
            lines.append(f"{c.name}: Go / PyTorch best = {ratio:.2f} (target ≤ {target})")
        ort = [v["ms"] for v in torch_res.get(f"ort:{c.name}", {}).values()]
        if ort and g / min(ort) > 1.0:
            lines.append(f"{c.name}: Go / ONNX Runtime best = {g / min(ort):.2f} (target ≤ 1.0)")
    print(f"\nRows behind issue 15's targets (training steps of head-only, HRA, LoRA, OFT and full fine-tuning, epochs and "
          f"inference ≤ 0.8× PyTorch's best; inference ≤ 1.0× ONNX Runtime's): {len(lines)}\n")
    for line in lines:
        print(f"- {line}")
    full = [(n, m["peak-RSS-MB"]) for n, m in go.items() if n.startswith("TrainStep/bert-base/full/") and "peak-RSS-MB" in m]
    for n, mb in full:
        print(f"- Memory: {n} peaks at {mb / 1024:.2f} GiB RSS in Go (the machine has 24 GiB)")
    for name, m in go.items():
        if "merged/base" in m:
            print(f"- Merged inference {name.split('/', 1)[1]}: {m['merged/base']:.3f} × the base model's time (target ≤ 1.05)")
        if "adapter/frozen" in m:
            print(f"- Adapter overhead {name.split('/', 1)[1]}: {100 * (m['adapter/frozen'] - 1):+.1f}% over the frozen model's step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="regular expression on configuration names")
    parser.add_argument("--benchtime", type=float, default=0.5, help="seconds per configuration and round (0: one call)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="PyTorch and ONNX Runtime thread counts")
    parser.add_argument("--epoch-steps", type=int, default=0, help="steps timed per epoch row, extrapolated (0: the whole epoch)")
    parser.add_argument("--quick", action="store_true", help="check every row end to end: --benchtime 0 --rounds 1 --epoch-steps 4")
    parser.add_argument("--isolate", action="store_true", help="one process per configuration")
    parser.add_argument("--no-go", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.names, args.benchtime, args.rounds)
        return
    if args.quick:
        args.benchtime, args.rounds, args.epoch_steps = 0, 1, args.epoch_steps or 4
    try:
        re.compile(args.only)
        threads_list = [int(t) for t in args.threads.split(",")]
    except (re.error, ValueError) as e:
        raise SystemExit(f"bad --only or --threads: {e}")
    if not args.no_torch:
        check = subprocess.run([sys.executable, "-c", "import torch, transformers, peft, onnxruntime, onnxscript"],
                               capture_output=True, text=True)
        if check.returncode != 0:
            error = (check.stderr.strip().splitlines() or ["import failed"])[-1]
            raise SystemExit(f"{sys.executable} lacks the reference libraries ({error}): run this script with "
                             "$SPAGO_PEFT_VENV/bin/python, made by integration/pyref/setup.sh")

    chosen = [c for c in configs() if not args.only or re.search(args.only, c.name)]
    if not os.path.isdir(os.path.join(shared_dir(), "data", "sst2")) or \
            not os.path.isdir(os.path.join(shared_dir(), "models", "sst-bert-tiny")):
        print(f"skipping the epoch rows: {shared_dir()}/data/sst2 or models/sst-bert-tiny not found (set SPAGO_PEFT_SHARED)", file=sys.stderr)
        chosen = [c for c in chosen if c.family != "Epoch"]
    started, loads = datetime.datetime.now(datetime.timezone.utc), [load()]
    with tempfile.TemporaryDirectory(prefix="spago-peft-bench-") as tmp:
        torch_res, go = run_interleaved(chosen, args, threads_list, tmp)
        loads.append(load())
    versions = subprocess.run([sys.executable, "-c", "import torch, transformers, peft, onnxruntime; "
                               "print(f'torch {torch.__version__}, transformers {transformers.__version__}, "
                               "peft {peft.__version__}, onnxruntime {onnxruntime.__version__}')"],
                              capture_output=True, text=True).stdout.strip()
    go_version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()

    print("# Go vs PyTorch and ONNX Runtime on the same CPU\n")
    if args.quick:
        print("**Quick mode: one call per configuration without warm-up, epochs extrapolated from a few steps. This checks the harness; it measures nothing.**\n")
    print(f"- Command: `$SPAGO_PEFT_VENV/bin/python bench/pytorch_compare.py {' '.join(sys.argv[1:])}` (from the repository root)")
    print(f"- Date: {started:%Y-%m-%d %H:%M} UTC")
    print(f"- Machine: {machine()}")
    print(f"- {versions}; {go_version}")
    print(f"- Load average (1, 5, 15 min): {loads[0]} before, {loads[1]} after")
    print(f"- Each figure: the fastest of {args.rounds} round(s), each the mean over {args.benchtime:g} s (at least one call); "
          "the sides' rounds interleaved, block by block (a family and shape), PyTorch and ONNX Runtime first in "
          "odd rounds, Go in even ones")
    if args.epoch_steps:
        print(f"- Epoch rows: {args.epoch_steps} steps timed on each side and their mean step time scaled to the "
              f"epoch's {EPOCH_BATCH}-example steps: an extrapolation, not a full epoch")
    idle = [r.get("idle_mb") for per in torch_res.values() for r in per.values() if r.get("idle_mb")]
    if idle:
        print(f"- PyTorch's and ONNX Runtime's peak RSS include their worker process with torch and transformers "
              f"imported: {min(idle):.0f}–{max(idle):.0f} MB before any model")
    print("\nTimes in ms (epoch rows in s); training steps per example; PyTorch's and ONNX Runtime's thread counts")
    print("in separate processes; Go on every core. Go allocs are per call (per step, per epoch).\n")
    table(chosen, torch_res, go, threads_list, args)
    summary(chosen, torch_res, go)
    extra = [n for n in go if n not in {c.go_name for c in chosen} and not any(r in go[n] for r in RATIOS)]
    if extra:
        print("\nGo only (per call or step):\n")
        print("| config | Go ms | Go allocs |")
        print("|---|---:|---:|")
        for name in extra:
            print(f"| {name} | {go[name]['ns/op'] / 1e6:.3f} | {go[name].get('allocs/op', 0):.0f} |")


if __name__ == "__main__":
    main()
