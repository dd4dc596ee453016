#!/bin/sh
# run_sweep.sh OUT_DIR [extra flags for both stacks]: the learning-rate sweep of
# examples/compare/RESULTS.md on all-MiniLM-L6-v2 + SST-2. Every method (on query+value for the
# adapters) at every factor of its default learning rate (--lr-sweep FACTOR), one process per
# (seed, method, factor), seed after seed: a sweep stopped early has every point at the seeds it
# finished. $SEEDS lists the seeds (default "42 43 44"), $STACKS the stacks ("go peft", the
# default, or one of them), $METHODS the methods (default "hra lora oft head full"), $FACTORS the
# grid (default "0.3 1 3"); $DATA, $MODEL, $PY and $THREADS as for run_matrix.sh.
# `python3 examples/compare/pool_table.py --sweep OUT_DIR` prints the table.
set -eu
out=$1
shift
extra="$*"
: "${MODEL:=sentence-transformers/all-MiniLM-L6-v2}" "${DATA:?set DATA to sst2_split.sh's directory}"
: "${PY:=python3}" "${THREADS:=2}" "${SEEDS:=42 43 44}" "${STACKS:=go peft}"
: "${METHODS:=hra lora oft head full}" "${FACTORS:=0.3 1 3}"
mkdir -p "$out"
common="--data $DATA --test $DATA/heldout.tsv --epochs 1 --batch 16 --max-len 64 --dropout 0.1 --eval-every 100000 --seeds 1"
case " $STACKS " in *" go "*) go build -o "$out/compare" ./examples/compare ;; esac
for seed in $SEEDS; do
	for m in $METHODS; do
		for f in $FACTORS; do
			name="$m-x$f-s$seed"
			for stack in $STACKS; do
				echo "== $stack $name $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
				if [ "$stack" = go ]; then
					"$out/compare" --model "$MODEL" $common --seed "$seed" --methods "$m" --lr-sweep "$f" $extra \
						--out "$out/go-$name" > "$out/go-$name.md" 2> "$out/go-$name.log"
				else
					"$PY" examples/compare/peft_compare.py --model "$MODEL" $common --seed "$seed" --methods "$m" --lr-sweep "$f" \
						--threads "$THREADS" --json "$out/peft-$name.json" $extra > "$out/peft-$name.md" 2> "$out/peft-$name.log"
				fi
			done
		done
	done
done
echo "== done $(date +%T)" >&2
