#!/usr/bin/env bash
# Creates the Python reference environment: the real torch, transformers, peft, safetensors,
# tokenizers and onnxruntime at the exact versions in requirements.txt. Used only to regenerate
# fixtures, run the live interop checks and the PyTorch side of comparisons; `go test ./...` needs
# none of it.
#
#   bash integration/pyref/setup.sh            # venv at $SPAGO_PEFT_VENV or ~/.cache/spago-peft/venv
#   export SPAGO_PEFT_VENV=~/.cache/spago-peft/venv
#   go test ./integration/...                  # now also runs the live checks
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${SPAGO_PEFT_VENV:-$HOME/.cache/spago-peft/venv}"
python="${PYTHON:-python3}"
"$python" -c 'import sys; assert sys.version_info >= (3, 10), "python 3.10 or newer is needed"'
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import torch, transformers, peft, safetensors, tokenizers, onnxruntime
print("reference environment:", "torch", torch.__version__, "transformers", transformers.__version__,
      "peft", peft.__version__, "safetensors", safetensors.__version__,
      "tokenizers", tokenizers.__version__, "onnxruntime", onnxruntime.__version__)
PY
echo "export SPAGO_PEFT_VENV=$venv"
