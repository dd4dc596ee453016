#!/bin/sh
# run_sweep.sh OUT_DIR [extra flags for both stacks]: the learning-rate sweep of
# examples/compare/RESULTS.md on all-MiniLM-L6-v2 + SST-2. Every method (on query+value for the
# adapters) at every factor of its default learning rate, each (method, factor) in its own process
# with --lr-sweep FACTOR and $SEEDS seeds (default 3), so that a stopped sweep keeps what it ran.
# $STACKS picks the stacks ("go peft", the default, or one of them), $METHODS the methods (default
# "hra lora oft head full"), $FACTORS the grid (default "0.3 1 3"); $DATA, $MODEL, $PY and
# $THREADS as for run_matrix.sh. `python3 examples/compare/sweep_table.py OUT_DIR` prints the
# table.
set -eu
out=$1
shift
extra="$*"
: "${MODEL:=sentence-transformers/all-MiniLM-L6-v2}" "${DATA:?set DATA to sst2_split.sh's directory}"
: "${PY:=python3}" "${THREADS:=2}" "${SEEDS:=3}" "${STACKS:=go peft}"
: "${METHODS:=hra lora oft head full}" "${FACTORS:=0.3 1 3}"
mkdir -p "$out"
common="--data $DATA --test $DATA/heldout.tsv --epochs 1 --batch 16 --max-len 64 --dropout 0.1 --eval-every 100000 --seeds $SEEDS"
case " $STACKS " in *" go "*) go build -o "$out/compare" ./examples/compare ;; esac
for m in $METHODS; do
	for f in $FACTORS; do
		name="$m-x$f"
		for stack in $STACKS; do
			echo "== $stack $name $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
			if [ "$stack" = go ]; then
				"$out/compare" --model "$MODEL" $common --methods "$m" --lr-sweep "$f" $extra --out "$out/go-$name" \
					> "$out/go-$name.md" 2> "$out/go-$name.log"
			else
				"$PY" examples/compare/peft_compare.py --model "$MODEL" $common --methods "$m" --lr-sweep "$f" \
					--threads "$THREADS" --json "$out/peft-$name.json" $extra > "$out/peft-$name.md" 2> "$out/peft-$name.log"
			fi
		done
	done
done
echo "== done $(date +%T)" >&2
