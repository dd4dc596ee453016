#!/usr/bin/env python3
"""The PEFT side of examples/compare: the same experiment with real transformers + peft.

It fine-tunes a Hugging Face BERT checkpoint for sequence classification with HRA, LoRA, OFT (PEFT's
HRAConfig, LoraConfig, OFTConfig), the head alone (pooler + classifier) and every weight, with the
settings of `go run ./examples/compare` (same flags, same defaults, same data files), and prints the
same Markdown table; --json writes the results. Settings matched on purpose:

- AdamW (torch.optim.AdamW, betas 0.9/0.999, eps 1e-8), weight decay on every trainable parameter;
  linear warm-up over ceil(warmup·steps) steps then linear decay to 0
  (transformers.get_linear_schedule_with_warmup); gradients clipped to --clip (0: none).
- HRA r=8 with PEFT's paired init and the HRA paper's orthogonality regulariser
  λ·‖I − ÛᵀÛ‖²_F added to the loss (Go's --hra-lambda; PEFT itself has none, 0 turns it off);
  LoRA r=8, α=16, no dropout; OFT blocks of 32 with the exact Cayley transform
  (use_cayley_neumann=False, Go's default), no module dropout; the pooler and classifier trained
  in full beside every adapter (modules_to_save), as Go's default targets do.
- Every --seeds run uses seed, seed+1, ...: torch.manual_seed(seed) draws the head, the adapters
  and the example order (a different generator from Go's, so runs agree in distribution, not
  bit for bit).

--replay TRACE replays the batches of a Go --trace file (same examples per step) and prints both
stacks' loss and gradient norm step by step; with --save-init DIR, which writes the model this
script starts from (pooler and classifier included) as a Hugging Face directory for Go's --model,
both start from identical weights. With --masks FILE (Go's --masks of the same run) the replay
applies Go's dropout masks in place of torch's: every nn.Dropout of the model and the attention
probabilities' dropout (eager attention) take the next site's mask, each padded sequence's first
l positions being Go's packed rows. With --init-adapter DIR (Go's --save-adapter-init) it starts
from Go's initial adapters too (LoRA's A and HRA's reflections are random draws).

Peak memory is the process's resident-set high-water mark (VmHWM, reset through
/proc/self/clear_refs before each run); time per epoch is the wall time of the training steps,
evaluations excluded. Run it with the venv made by integration/pyref/setup.sh.
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import sys
import time

import torch
from torch import nn
from transformers import BertForSequenceClassification, BertTokenizerFast, get_linear_schedule_with_warmup

KINDS = ["hra", "lora", "oft", "head", "full"]
DEFAULT_LR = {"hra": 2e-3, "lora": 1e-3, "oft": 2e-3, "head": 2e-3, "full": 1e-4}
NAMES = {"hra": "HRA", "lora": "LoRA", "oft": "OFT", "head": "head only", "full": "full fine-tuning"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model directory")
    p.add_argument("--data", required=True, help="directory with train.tsv and dev.tsv (sentence<TAB>label)")
    p.add_argument("--test", default="", help="labelled TSV file reported beside dev")
    p.add_argument("--methods", default=",".join(KINDS))
    p.add_argument("--targets", default="query,value", help="module name suffixes, in the encoder only")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--epochs", type=int, default=0, help="passes over the training set, instead of --steps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--attention-dropout", type=float, default=None)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--hra-r", type=int, default=8)
    p.add_argument("--hra-lambda", type=float, default=1e-4)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=float, default=0)
    p.add_argument("--oft-block", type=int, default=32)
    p.add_argument("--lr", type=float, default=0, help="learning rate of every method (0: per-method defaults)")
    for k in KINDS:
        p.add_argument("--lr-" + k, type=float, default=0)
    p.add_argument("--lr-sweep", default="", help="factors of each method's learning rate, such as 0.3,1,3")
    p.add_argument("--eval-every", type=int, default=0, help="accepted for Go's command line; this script evaluates after the last step only")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--json", default="", help="file for the results as JSON")
    p.add_argument("--replay", default="", help="Go --trace file whose batches to replay step by step")
    p.add_argument("--masks", default="", help="Go --masks file of the replayed run, whose dropout masks to apply (with --replay)")
    p.add_argument("--init-adapter", default="", help="Go --save-adapter-init directory: the replay starts from Go's initial adapters (DIR/<method>)")
    p.add_argument("--save-init", default="", help="write the initial model of the first method to this directory and exit")
    a = p.parse_args(argv)
    if a.attention_dropout is None:
        a.attention_dropout = a.dropout
    a.methods = [m.strip() for m in a.methods.split(",")]
    for m in a.methods:
        if m not in KINDS:
            p.error(f"unknown method {m!r}, want one of {', '.join(KINDS)}")
    a.factors = [float(f) for f in a.lr_sweep.split(",")] if a.lr_sweep else [1.0]
    if (a.masks or a.init_adapter) and not a.replay:
        p.error("--masks and --init-adapter need --replay: they belong to the replayed run")
    return a


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        si, li = header.index("sentence"), header.index("label")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows.append((cols[si], int(cols[li])))
    return rows


def encode(tok, rows, max_len):
    enc = tok([r[0] for r in rows], truncation=True, max_length=max_len)
    return [(ids, label) for ids, (_, label) in zip(enc["input_ids"], rows)]


def collate(examples):
    n = max(len(ids) for ids, _ in examples)
    ids = torch.zeros(len(examples), n, dtype=torch.long)
    mask = torch.zeros(len(examples), n, dtype=torch.long)
    for i, (x, _) in enumerate(examples):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask, torch.tensor([y for _, y in examples])


def lr_of(a, kind):
    return getattr(a, "lr_" + kind) or a.lr or DEFAULT_LR[kind]


def target_regex(targets):
    # Encoder modules only: PEFT's plain "dense" would also match bert.pooler.dense, which Go's
    # targets exclude (the pooler is trained in full).
    alts = "|".join(t.strip().replace(".", r"\.") for t in targets.split(","))
    return rf".*encoder\.layer\.\d+\..*(?:^|\.)(?:{alts})$"


class GoMasks:
    """Go's dropout masks of one run (a --masks file), handed out site by site in forward order.

    Keys are train.Fit's: the example's place in the run, from 0, so step s's batch holds the keys
    that follow the previous steps' examples."""

    def __init__(self, path, method):
        self.sites = {}  # key -> {site: (kind, p, size, packed bytes)}
        with open(path, "rb") as f:
            while line := f.readline():
                rec = json.loads(line)
                for key, n in zip(rec["keys"], rec["sizes"]):
                    packed = f.read((n + 7) // 8)
                    if rec["method"] == method:
                        self.sites.setdefault(key, {})[rec["site"]] = (rec["kind"], rec["p"], n, packed)
        if not self.sites:
            raise SystemExit(f"--masks {path}: no masks of {method}")
        self.keys, self.lengths, self.site = [], [], 0

    def start(self, keys, lengths):
        """Begins a forward pass over sequences with these dropout keys and lengths."""
        if self.keys and self.site != len(self.sites[self.keys[0]]):
            raise SystemExit(f"--masks: the previous pass used {self.site} of Go's {len(self.sites[self.keys[0]])} dropout sites")
        self.keys, self.lengths, self.site = keys, lengths, 0

    def next(self, kind, shape):
        """The next site's scaled masks (kept: 1/(1−p), dropped: 0) for a padded tensor of shape."""
        import numpy as np

        self.site += 1
        mask = torch.zeros(shape, dtype=torch.float32)
        for b, (key, l) in enumerate(zip(self.keys, self.lengths)):
            got, p, n, packed = self.sites[key][self.site]
            if got != kind:
                raise SystemExit(f"--masks: site {self.site} is {got} in Go, {kind} here: the forward orders differ")
            bits = torch.from_numpy(np.unpackbits(np.frombuffer(packed, dtype=np.uint8))[:n].astype(np.float32))
            bits *= torch.tensor(1 / (1 - p), dtype=torch.float32)
            if kind == "tokens":
                mask[b, :l, :] = bits.view(l, shape[-1])
            elif kind == "attention":
                mask[b, :, :l, :l] = bits.view(shape[1], l, l)
            else:
                mask[b, :] = bits
        return mask


class FedDropout(nn.Module):
    """An nn.Dropout that applies Go's masks (from GoMasks) in training mode."""

    def __init__(self, masks, p):
        super().__init__()
        self.masks, self.p = masks, p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * self.masks.next("tokens" if x.dim() == 3 else "sequences", x.shape)


def feed_masks(model, masks):
    """Makes model apply masks' dropout masks in training: its nn.Dropout modules become
    FedDropout, and BERT's eager attention takes the attention probabilities' masks."""
    from transformers.models.bert import modeling_bert

    swapped = 0
    for name, mod in list(model.named_modules()):
        for child, sub in list(mod.named_children()):
            # BertSelfAttention's dropout is never called: its p is the attention's rate.
            if isinstance(sub, nn.Dropout) and not name.endswith("attention.self"):
                setattr(mod, child, FedDropout(masks, sub.p))
                swapped += 1
    layers = model.config.num_hidden_layers
    if swapped != 2 * layers + 2:
        raise SystemExit(f"--masks: found {swapped} dropout modules, want {2 * layers + 2} (embeddings, 2 per layer, classifier)")

    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        weights = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            weights = weights + attention_mask
        weights = nn.functional.softmax(weights, dim=-1)
        if module.training and dropout > 0:
            weights = weights * masks.next("attention", weights.shape)
        return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights

    modeling_bert.eager_attention_forward = attention


def load_go_adapter(model, directory):
    """Overwrites the adapters of the PEFT model with Go's initial ones, saved in PEFT's format."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = load_file(os.path.join(directory, "adapter_model.safetensors"))
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    result = set_peft_model_state_dict(model, state)
    if result.unexpected_keys:
        raise SystemExit(f"--init-adapter {directory}: tensors PEFT does not know: {result.unexpected_keys[:3]}")
    changed = sum(not torch.equal(before[n], p) for n, p in model.named_parameters() if n in before)
    print(f"loaded Go's initial adapters from {directory} ({len(state)} tensors; {changed} parameters changed)", file=sys.stderr)


def build(a, kind, seed, masks=None, init_adapter=""):
    """Returns the model, its trainable parameters (drawn from seed) and the size of the base;
    with masks (a GoMasks), a model that applies them; with init_adapter, Go's initial adapters
    in place of PEFT's draw."""
    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(
        a.model, num_labels=2, hidden_dropout_prob=a.dropout, attention_probs_dropout_prob=a.attention_dropout,
        **({"attn_implementation": "eager"} if masks else {}),
    )
    if masks:
        feed_masks(model, masks)
    base = sum(p.numel() for p in model.parameters())
    if kind == "full":
        return model, [p for p in model.parameters()], base
    if kind == "head":
        for n, p in model.named_parameters():
            p.requires_grad = n.startswith(("bert.pooler.", "classifier."))
        return model, [p for p in model.parameters() if p.requires_grad], base
    import peft

    common = dict(target_modules=target_regex(a.targets), modules_to_save=["pooler", "classifier"])
    if kind == "hra":
        cfg = peft.HRAConfig(r=a.hra_r, init_weights=True, apply_GS=False, **common)
    elif kind == "lora":
        cfg = peft.LoraConfig(r=a.lora_r, lora_alpha=a.lora_alpha or 2 * a.lora_r, lora_dropout=0.0, **common)
    else:
        cfg = peft.OFTConfig(
            r=0, oft_block_size=a.oft_block, use_cayley_neumann=False, module_dropout=0.0, coft=False, block_share=False, **common
        )
    model = peft.get_peft_model(model, cfg)
    if init_adapter:
        load_go_adapter(model, os.path.join(init_adapter, kind))
    return model, [p for p in model.parameters() if p.requires_grad], base


def hra_penalty(model, lam):
    """λ·‖I − ÛᵀÛ‖²_F summed over the HRA modules (Û: hra_u with unit columns)."""
    total = None
    for n, p in model.named_parameters():
        if p.requires_grad and n.endswith("hra_u.default"):
            u = p / p.norm(dim=0, keepdim=True)
            eye = torch.eye(u.shape[1], dtype=u.dtype)
            term = ((eye - u.T @ u) ** 2).sum()
            total = term if total is None else total + term
    return None if total is None else lam * total


def evaluate(model, data, batch):
    model.eval()
    correct, loss = 0, 0.0
    with torch.inference_mode():
        for i in range(0, len(data), batch):
            ids, mask, y = collate(data[i : i + batch])
            logits = model(input_ids=ids, attention_mask=mask).logits
            loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(-1) == y).sum().item()
    model.train()
    return correct / len(data), loss / len(data)


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def train_once(a, kind, lr, seed, train, dev, test, steps, replay=None, masks=None, log=sys.stderr):
    """One run; replay, if given, is the list of Go's trace steps, whose batches it follows, and
    masks (a GoMasks) Go's dropout masks of those steps."""
    model, params, n_base = build(a, kind, seed, masks, a.init_adapter if replay else "")
    n_trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(a.warmup * steps), steps)
    gen = torch.Generator().manual_seed(seed)
    per_epoch = math.ceil(len(train) / a.batch)
    model.train()
    reset_peak_rss()
    step_time, cpu_time, losses, step, seen = 0.0, 0.0, [], 0, 0
    while step < steps:
        order = torch.randperm(len(train), generator=gen).tolist()
        for b in range(per_epoch):
            if step == steps:
                break
            idx = replay[step]["batch"] if replay else order[b * a.batch : (b + 1) * a.batch]
            ids, mask, y = collate([train[i] for i in idx])
            if masks:
                masks.start(list(range(seen, seen + len(idx))), mask.sum(1).tolist())
            seen += len(idx)
            t0, c0 = time.perf_counter(), time.process_time()
            logits = model(input_ids=ids, attention_mask=mask).logits
            loss = nn.functional.cross_entropy(logits, y)
            if kind == "hra" and a.hra_lambda > 0:
                loss = loss + hra_penalty(model, a.hra_lambda)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, a.clip if a.clip > 0 else float("inf")).item()
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step_time += time.perf_counter() - t0
            cpu_time += time.process_time() - c0
            losses.append(loss.item())
            step += 1
            if replay:
                g = replay[step - 1]
                print(f"{step:5d}  loss go {g['loss']:.6f} py {losses[-1]:.6f}  grad norm go {g['grad_norm']:.6f} py {norm:.6f}", file=log)
    if masks:
        masks.start([], [])  # checks that the last pass used every site
    rss = peak_rss()
    dev_acc, dev_loss = evaluate(model, dev, a.batch)
    test_acc = evaluate(model, test, a.batch)[0] if test else None
    last = losses[-10:]
    return dict(
        seed=seed, dev_accuracy=dev_acc, dev_loss=dev_loss, test_accuracy=test_acc,
        final_train_loss=sum(last) / len(last), step_seconds=step_time / steps, cpu_step_seconds=cpu_time / steps,
        epoch_seconds=step_time / steps * per_epoch, peak_rss_bytes=rss,
        trainable=n_trainable, base=n_base,
    )


def mean_std(xs):
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt_acc(xs):
    m, s = mean_std(xs)
    return f"{100 * m:.2f} ± {100 * s:.2f}%" if len(xs) > 1 else f"{100 * m:.2f}%"


def config_of(a, kind):
    return {
        "hra": f"r={a.hra_r}" + (f" lambda={a.hra_lambda:g}" if a.hra_lambda else ""),
        "lora": f"r={a.lora_r} alpha={a.lora_alpha or 2 * a.lora_r:g}",
        "oft": f"block={a.oft_block}",
        "head": "pooler + classifier",
        "full": "every weight",
    }[kind]


def main(argv):
    a = parse_args(argv)
    import transformers

    transformers.logging.set_verbosity_error()  # not the load report of every run
    torch.set_num_threads(a.threads)
    tok = BertTokenizerFast.from_pretrained(a.model)
    train = encode(tok, read_tsv(os.path.join(a.data, "train.tsv")), a.max_len)
    dev = encode(tok, read_tsv(os.path.join(a.data, "dev.tsv")), a.max_len)
    test = encode(tok, read_tsv(a.test), a.max_len) if a.test else None
    steps = a.epochs * math.ceil(len(train) / a.batch) if a.epochs else a.steps
    if a.save_init:
        model, _, _ = build(a, "full", a.seed)
        model.save_pretrained(a.save_init, safe_serialization=True)
        tok.save_pretrained(a.save_init)
        vocab = os.path.join(a.model, "vocab.txt")  # Go's tokenizer reads vocab.txt, which transformers 5 no longer writes
        if os.path.exists(vocab):
            shutil.copy(vocab, a.save_init)
        print(f"wrote the initial model (seed {a.seed}) to {a.save_init}", file=sys.stderr)
        return
    if a.replay:
        with open(a.replay) as f:
            trace = [json.loads(line) for line in f]
        for kind in a.methods:
            run = [s for s in trace if s["method"] == kind]
            if not run:
                continue
            masks = GoMasks(a.masks, kind) if a.masks else None
            print(f"replaying {len(run)} steps of {kind} (seed {run[0]['seed']})" + (", with Go's dropout masks" if masks else ""), file=sys.stderr)
            r = train_once(a, kind, lr_of(a, kind), run[0]["seed"], train, dev, test, len(run), replay=run, masks=masks)
            print(f"{kind}: dev acc {r['dev_accuracy']:.4f}, loss {r['dev_loss']:.4f} after the replayed steps", file=sys.stderr)
        return
    rows = []
    for kind in a.methods:
        best = None
        sweep = []
        for f in a.factors:
            lr = float(f"{lr_of(a, kind) * f:.6g}")  # rounded to 6 significant digits, as Go rounds it
            runs = []
            for s in range(a.seeds):
                seed = a.seed + s
                print(f"{NAMES[kind]} {config_of(a, kind)}, lr {lr:g}, seed {seed}, {steps} steps", file=sys.stderr)
                r = train_once(a, kind, lr, seed, train, dev, test, steps)
                print(f"  dev acc {r['dev_accuracy']:.4f}" + (f", test acc {r['test_accuracy']:.4f}" if test else "")
                      + f", {r['epoch_seconds']:.1f} s/epoch ({1000 * r['cpu_step_seconds']:.0f} ms CPU per step), peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB", file=sys.stderr)
                runs.append(r)
            dev_mean = mean_std([r["dev_accuracy"] for r in runs])[0]
            sweep.append(dict(lr=lr, dev_accuracies=[r["dev_accuracy"] for r in runs], dev_accuracy=dev_mean))
            if best is None or dev_mean > best[0]:
                best = (dev_mean, lr, runs)
        _, lr, runs = best
        rows.append(dict(method=kind, config=config_of(a, kind), lr=lr, runs=runs, sweep=sweep))
    report(a, rows, len(train), len(dev), len(test) if test else 0, steps)


def report(a, rows, n_train, n_dev, n_test, steps):
    out = sys.stdout
    print(f"Base: {a.model} (transformers + peft: torch {torch.__version__}, {torch.get_num_threads()} threads)\n", file=out)
    print(f"Data: {n_train} training examples from {a.data}/train.tsv; {n_dev} dev examples; {n_test} test examples from {a.test or '-'}\n", file=out)
    print(f"Budget per method: {steps} steps × batch {a.batch}, max length {a.max_len}, seeds {a.seed}..{a.seed + a.seeds - 1}, "
          f"adapters on {a.targets}; dropout {a.dropout:g} (attention {a.attention_dropout:g}), clip {a.clip:g}, "
          f"weight decay {a.weight_decay:g}, warm-up {a.warmup:g}; {platform.machine()}, {os.cpu_count()} CPUs\n", file=out)
    test_head = " Test acc |" if n_test else ""
    print(f"| Method | Config | LR | Trainable params | % of base | Dev acc |{test_head} Final train loss | s/epoch | Time/step | CPU/step | Peak RSS |", file=out)
    print("|---|---|---:|---:|---:|---:|" + ("---:|" if n_test else "") + "---:|---:|---:|---:|---:|", file=out)
    for r in rows:
        runs = r["runs"]
        first = runs[0]
        pct = 100 * first["trainable"] / first["base"]
        test_cell = f" {fmt_acc([x['test_accuracy'] for x in runs])} |" if n_test else ""
        print(f"| {NAMES[r['method']]} | {r['config']} | {r['lr']:g} | {first['trainable']:,} | {pct:.3f}% | "
              f"{fmt_acc([x['dev_accuracy'] for x in runs])} |{test_cell} {first['final_train_loss']:.4f} | "
              f"{statistics.fmean(x['epoch_seconds'] for x in runs):.1f} | {1000 * statistics.fmean(x['step_seconds'] for x in runs):.1f} ms | "
              f"{1000 * statistics.fmean(x['cpu_step_seconds'] for x in runs):.1f} ms | "
              f"{max(x['peak_rss_bytes'] for x in runs) / 2**20:.0f} MiB |", file=out)
    if len(a.factors) > 1:
        print("\nLearning-rate sweep (mean dev accuracy; the table shows each method at its best):\n", file=out)
        for r in rows:
            cells = "; ".join(f"lr {p['lr']:g} → {fmt_acc(p['dev_accuracies'])}" for p in r["sweep"])
            print(f"- {NAMES[r['method']]}: {cells}", file=out)
    if a.json:
        import peft
        import transformers

        meta = dict(torch=torch.__version__, transformers=transformers.__version__, peft=peft.__version__,
                    threads=torch.get_num_threads(), steps=steps, args=vars(a))
        with open(a.json, "w") as f:
            json.dump(dict(meta=meta, methods=rows), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
