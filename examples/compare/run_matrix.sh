#!/bin/sh
# run_matrix.sh OUT_DIR [extra flags for both stacks]: the all-MiniLM-L6-v2 + SST-2 matrix of
# examples/compare/RESULTS.md. Each method runs in its own process, Go and then PEFT back to back
# so that both see similar load: HRA, LoRA and OFT on query+value (3 seeds), the same on all six
# encoder linears (1 seed), head only and full fine-tuning (3 seeds). Needs the data written by
# sst2_split.sh in $DATA, the model in $MODEL (a hub name or a directory), the PEFT venv's python
# in $PY and the PyTorch thread count in $THREADS. $ONLY, if set, lists the configurations to run
# (hra-qv lora-qv oft-qv head full hra-all lora-all oft-all), for example to split the matrix
# between two shells.
set -eu
out=$1
shift
extra="$*"
: "${MODEL:=sentence-transformers/all-MiniLM-L6-v2}" "${DATA:?set DATA to sst2_split.sh's directory}"
: "${PY:=python3}" "${THREADS:=2}"
mkdir -p "$out"
go build -o "$out/compare" ./examples/compare
common="--data $DATA --test $DATA/heldout.tsv --epochs 1 --batch 16 --max-len 64 --dropout 0.1 --eval-every 100000"
one() { # name seeds targets method
	case " ${ONLY:-$1} " in *" $1 "*) ;; *) return 0 ;; esac
	echo "== $1 $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	"$out/compare" --model "$MODEL" $common --seeds "$2" --targets "$3" --methods "$4" $extra --out "$out/go-$1" \
		> "$out/go-$1.md" 2> "$out/go-$1.log"
	echo "   go done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	"$PY" examples/compare/peft_compare.py --model "$MODEL" $common --seeds "$2" --targets "$3" --methods "$4" \
		--threads "$THREADS" --json "$out/peft-$1.json" $extra > "$out/peft-$1.md" 2> "$out/peft-$1.log"
	echo "   peft done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}
for m in hra lora oft; do one "$m-qv" 3 query,value "$m"; done
for m in head full; do one "$m" 3 query,value "$m"; done
for m in hra lora oft; do one "$m-all" 1 query,key,value,dense "$m"; done
