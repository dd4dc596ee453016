"""The user's own model of peft/custommlp_test.go in PyTorch, adapted by the real PEFT.

Usage: python peft_mlp.py WORK OUT

WORK holds base.safetensors (the MLP's weights and the inputs, written by the Go test) and
go-<method>/, the adapters Go's peft.Save wrote. For each method the script loads Go's adapter
with PeftModel.from_pretrained and records the outputs, then builds PEFT's own adapter with the
same configuration, moves its parameters away from the start with a seeded generator, saves it
with save_pretrained into OUT/peft-<method>/ and records its outputs. OUT/expected.json gets the
outputs and the library versions.
"""

import json
import os
import sys

import peft
import safetensors
import torch
from peft import HRAConfig, LoraConfig, OFTConfig, PeftModel, get_peft_model
from safetensors.torch import load_file

TARGETS = ["hidden", "output"]
CONFIGS = {
    "hra": lambda: HRAConfig(r=4, target_modules=TARGETS),
    "lora": lambda: LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS),
    "oft": lambda: OFTConfig(r=0, oft_block_size=4, use_cayley_neumann=False, target_modules=TARGETS),
}


class MLP(torch.nn.Module):
    def __init__(self, base):
        super().__init__()
        self.hidden = torch.nn.Linear(8, 32)
        self.output = torch.nn.Linear(32, 4)
        with torch.no_grad():
            for name in ("hidden", "output"):
                getattr(self, name).weight.copy_(base[name + ".weight"])
                getattr(self, name).bias.copy_(base[name + ".bias"].reshape(-1))

    def forward(self, x):
        return self.output(torch.tanh(self.hidden(x)))


def run(model, x):
    model.eval()
    with torch.no_grad():
        return model(x).tolist()


def main(work, out):
    torch.manual_seed(0)
    base = load_file(os.path.join(work, "base.safetensors"))
    x = base["inputs"]
    expected = {
        "versions": {"torch": torch.__version__, "peft": peft.__version__, "safetensors": safetensors.__version__},
        "go_in_peft": {},
        "peft": {},
    }
    for method, config in CONFIGS.items():
        loaded = PeftModel.from_pretrained(MLP(base), os.path.join(work, "go-" + method))
        expected["go_in_peft"][method] = run(loaded, x)

        model = get_peft_model(MLP(base), config())
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.requires_grad:
                    p.copy_(0.3 * (2 * torch.rand(p.shape) - 1))
        expected["peft"][method] = run(model, x)
        target = os.path.join(out, "peft-" + method)
        model.save_pretrained(target)
        readme = os.path.join(target, "README.md")
        if os.path.exists(readme):
            os.remove(readme)  # the model card says nothing the test needs
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
