#!/usr/bin/env bash
# Regenerates the evaluation pictures of docs/EVAL.md with the project's own commands:
# toymc -> voxel2graph -> graphsplit -> gcn-train (classification and segmentation) -> gcn-predict
# -> gcn-eval (ROC, training curves) and the event_display example (graphinfo --plot's drawing).
# Usage: docs/img/make-eval-pictures.sh [WORKDIR]   (about 2 minutes on 2 cores after the build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$(mktemp -d)}"
IMG="$ROOT/docs/img"
cd "$ROOT"
cargo build --release --locked -q -p toymc -p voxel2graph -p graphsplit -p gcn-train -p gcn-predict -p gcn-eval
cargo build --release --locked -q -p nextgnn-eval --example event_display
B="$ROOT/target/release"
mkdir -p "$WORK/labels"
"$B/toymc" --events 2000 --kind 0nubb --seed 1 --file-number 1 -o "$WORK/labels"
"$B/toymc" --events 2000 --kind 1eroi --seed 1 --file-number 2 -o "$WORK/labels"
"$B/voxel2graph" --edges classic "$WORK"/labels/*.h5 -o "$WORK/graphs.gs"
"$B/graphsplit" "$WORK/graphs.gs" --prefix "$WORK/split" --stratify binclass --seed 1
common=(--train "$WORK/split_train.gs" --valid "$WORK/split_valid.gs" --lr 2e-3 --patience 3 --threads 2 --seed 1)
"$B/gcn-train" "${common[@]}" --task classification --epochs 30 --out "$WORK/class"
"$B/gcn-train" "${common[@]}" --task segmentation --epochs 12 --out "$WORK/seg"
"$B/gcn-predict" --model "$WORK/class/best.ckpt" "$WORK/split_test.gs" -o "$WORK/events.csv"
"$B/gcn-predict" --model "$WORK/seg/best.ckpt" "$WORK/split_test.gs" -o "$WORK/voxels.csv"
"$B/gcn-eval" "$WORK/events.csv" --label "toy GCN, 30 epochs" --plot "$IMG/roc.svg" | tee "$WORK/eval.txt"
"$B/gcn-eval" "$WORK/voxels.csv" | tee -a "$WORK/eval.txt"
"$B/gcn-eval" --curves "$WORK/class/metrics.csv" --plot "$IMG/curves_classification.svg"
"$B/gcn-eval" --curves "$WORK/seg/metrics.csv" --plot "$IMG/curves_segmentation.svg"
"$B/examples/event_display" "$WORK/split_test.gs" 1:14 "$IMG/event_true_class.svg"
"$B/examples/event_display" "$WORK/split_test.gs" 1:14 "$IMG/event_p_blob.svg" "$WORK/voxels.csv" 2
echo "pictures in $IMG; intermediate files in $WORK"
