#!/bin/sh
# sst2_split.sh SST2_DIR OUT_DIR N: the fixed SST-2 draw of examples/compare/RESULTS.md.
#
# OUT_DIR/train.tsv: N training rows, every 8th row of SST-2's train.tsv among all but its last
# 1,000 rows; OUT_DIR/dev.tsv: SST-2's dev.tsv; OUT_DIR/heldout.tsv: the last 1,000 rows of
# train.tsv, a labelled test set (GLUE keeps SST-2's test labels private) that no draw trains on.
# Plain awk, so both stacks read the very same files.
set -eu
src=$1 out=$2 n=$3
mkdir -p "$out"
rows=$(($(wc -l < "$src/train.tsv") - 1))
awk -v last=$((rows - 1000 + 1)) -v n="$n" 'NR == 1 { print; next } NR <= last && (NR - 2) % 8 == 0 && k++ < n' "$src/train.tsv" > "$out/train.tsv"
{ head -n 1 "$src/train.tsv"; tail -n 1000 "$src/train.tsv"; } > "$out/heldout.tsv"
cp "$src/dev.tsv" "$out/dev.tsv"
echo "$out: $(($(wc -l < "$out/train.tsv") - 1)) training rows, $(($(wc -l < "$out/heldout.tsv") - 1)) held out, $(($(wc -l < "$out/dev.tsv") - 1)) dev" >&2
