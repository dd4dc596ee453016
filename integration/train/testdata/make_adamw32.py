"""Writes torch_adamw32.json: the "adamw" cases of make_fixtures.py on float32 parameters, which
PyTorch updates in float32 throughout (moments included), as the trainer's float32 path does.
Parameters of 35 and 19 values exercise the trainer's eight-wide kernel and its scalar tail.

Run with the venv of integration/pyref/setup.sh:
    /root/.cache/spago-peft/venv/bin/python make_adamw32.py
"""
import json

import torch

from make_fixtures import adamw_case

torch.manual_seed(1)
torch.set_default_dtype(torch.float32)
shapes = [(5, 7), (19,)]
fixtures = {
    "torch": torch.__version__,
    "adamw": [
        adamw_case("warmup, decay, clipping", 1e-2, 0.01, 2, 7, 1.0, 1.0, shapes),
        adamw_case("no warmup, no clipping needed", 3e-3, 0.0, 0, 5, 1.0, 0.05, shapes),
        adamw_case("heavy weight decay", 1e-1, 0.5, 1, 4, 0.5, 3.0, shapes),
    ],
}
with open("torch_adamw32.json", "w") as f:
    json.dump(fixtures, f, indent=1)
    f.write("\n")
