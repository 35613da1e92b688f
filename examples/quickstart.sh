#!/usr/bin/env bash
# The whole nextgnn pipeline on data it makes itself, in a few minutes on 2 cores:
#   toymc (0nubb + 1eroi label files) -> voxel2graph -> graphsplit -> gcn-train -> gcn-predict -> gcn-eval
# Usage: ./examples/quickstart.sh [OUTDIR]      (default: ./quickstart-out)
# Knobs (environment): EVENTS per class (default 4000), EPOCHS (default 20), THREADS (default: all cores).
set -euo pipefail
# Nothing here reads a terminal; a closed stdin keeps cargo and rustc from reading stray input.
exec </dev/null
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$PWD/quickstart-out}"
EVENTS="${EVENTS:-4000}"
EPOCHS="${EPOCHS:-20}"
THREADS="${THREADS:-$(nproc)}"
source "$ROOT/scripts/deps.sh"
ensure_system_deps

echo "== building nextgnn (release; the first build takes a few minutes)"
(cd "$ROOT" && cargo build --release --locked -q -p toymc -p voxel2graph -p graphsplit -p graphinfo -p gcn-train -p gcn-predict -p gcn-eval)
BIN="$ROOT/target/release"
mkdir -p "$OUT"

echo "== toymc: $EVENTS 0nubb + $EVENTS 1eroi events at 13 bar, 5x5x4 mm voxels"
"$BIN/toymc" --events "$EVENTS" --kind 0nubb --seed 1 --file-number 1 -o "$OUT/labels"
"$BIN/toymc" --events "$EVENTS" --kind 1eroi --seed 1 --file-number 2 -o "$OUT/labels"

echo "== voxel2graph (classic 26-neighbour edges; features ener, nhits + the two cloud features)"
"$BIN/voxel2graph" --edges classic --cloud-info "$OUT"/labels/*.h5 -o "$OUT/graphs.gs"
"$BIN/graphinfo" "$OUT/graphs.gs"

echo "== graphsplit 80/10/10 (stratified by binclass)"
"$BIN/graphsplit" "$OUT/graphs.gs" --prefix "$OUT/split" --stratify binclass --seed 1

echo "== gcn-train ($EPOCHS epochs, classification)"
# gcn-train refuses an --out that holds another run; a rerun of the quickstart starts afresh.
rm -rf "$OUT/model"
"$BIN/gcn-train" --train "$OUT/split_train.gs" --valid "$OUT/split_valid.gs" \
    --task classification --epochs "$EPOCHS" --threads "$THREADS" --seed 1 --out "$OUT/model"

echo "== gcn-predict on the test split"
"$BIN/gcn-predict" --model "$OUT/model/best.ckpt" "$OUT/split_test.gs" -o "$OUT/predictions.csv"

echo "== gcn-eval"
"$BIN/gcn-eval" "$OUT/predictions.csv" --plot "$OUT/roc.svg" | tee "$OUT/eval.txt"

echo
echo "outputs in $OUT:"
echo "  label files      $OUT/labels/"
echo "  graphs           $OUT/graphs.gs, $OUT/split_{train,valid,test}.gs"
echo "  model            $OUT/model/best.ckpt (per-epoch metrics: $OUT/model/metrics.csv)"
echo "  predictions      $OUT/predictions.csv"
echo "  ROC curve        $OUT/roc.svg"
echo "  training curves  $OUT/model/curves.svg"
echo
grep -E '^(AUC|accuracy at cut)' "$OUT/eval.txt" | sed 's/^/test set: /'
