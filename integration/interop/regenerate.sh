#!/bin/sh
# Regenerates integration/interop/testdata from a live run against the real PEFT and transformers:
# Go trains and saves the adapters and merged exports, interop.py has PEFT and transformers read
# them, continue training, and make adapters with PEFT's own recipes; the Go test checks it all
# and, with -update, copies the files and records into testdata (with testdata/versions.json), and
# those of the other members of the family into testdata/family (TestLiveFamily). After
# ../checkpoint/testdata/make_tiny_family.py rewrites the tiny family checkpoints, run this too.
#
# Needs the environment of integration/pyref/setup.sh (SPAGO_PEFT_VENV, default
# ~/.cache/spago-peft/venv). The PEFT 0.17 adapter (the Neumann series before PEFT 0.18) is made
# with PEFT 0.17.1 and the transformers 4.57 it needs, installed here with pip --target into a
# temporary directory put on PYTHONPATH for that one step only; they are never part of the
# reference environment.
set -eu
cd "$(dirname "$0")"
venv=${SPAGO_PEFT_VENV:-$HOME/.cache/spago-peft/venv}
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
"$venv/bin/pip" install -q --no-deps --target "$old" \
	peft==0.17.1 transformers==4.57.1 tokenizers==0.22.1 huggingface_hub==0.35.3 \
	requests==2.32.5 urllib3==2.5.0 charset-normalizer==3.4.3 certifi==2025.8.3
SPAGO_PEFT_VENV=$venv SPAGO_PEFT_PEFT017=$old go test . -run 'TestLive' -count=1 -v -update -timeout 30m
