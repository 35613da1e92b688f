#!/usr/bin/env bash
# Regenerates the pictures of the README and docs/EVAL.md with the project's own commands, on the
# quickstart's data and settings: toymc -> voxel2graph --cloud-info -> graphsplit -> gcn-train
# (classification and segmentation) -> gcn-predict -> gcn-eval (ROC, training curves) and
# graphinfo --plot (event displays).
# Usage: docs/img/make-eval-pictures.sh [WORKDIR]   (about 4 minutes on 2 cores after the build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$(mktemp -d)}"
IMG="$ROOT/docs/img"
cd "$ROOT"
cargo build --release --locked -q -p toymc -p voxel2graph -p graphsplit -p graphinfo -p gcn-train -p gcn-predict -p gcn-eval
B="$ROOT/target/release"
"$B/toymc" --events 4000 --kind 0nubb --seed 1 --file-number 1 -o "$WORK/labels"
"$B/toymc" --events 4000 --kind 1eroi --seed 1 --file-number 2 -o "$WORK/labels"
"$B/voxel2graph" --edges classic --cloud-info "$WORK"/labels/*.h5 -o "$WORK/graphs.gs"
"$B/graphsplit" "$WORK/graphs.gs" --prefix "$WORK/split" --stratify binclass --seed 1
common=(--train "$WORK/split_train.gs" --valid "$WORK/split_valid.gs" --epochs 20 --seed 1)
"$B/gcn-train" "${common[@]}" --task classification --out "$WORK/class"
"$B/gcn-train" "${common[@]}" --task segmentation --out "$WORK/seg"
"$B/gcn-predict" --model "$WORK/class/best.ckpt" "$WORK/split_test.gs" -o "$WORK/events.csv"
"$B/gcn-predict" --model "$WORK/seg/best.ckpt" "$WORK/split_test.gs" -o "$WORK/voxels.csv"
"$B/gcn-eval" "$WORK/events.csv" --label "toy GCN, 20 epochs" --plot "$IMG/roc.svg" | tee "$WORK/eval.txt"
"$B/gcn-eval" "$WORK/voxels.csv" | tee -a "$WORK/eval.txt"
"$B/gcn-eval" --curves "$WORK/class/metrics.csv" --plot "$IMG/curves_classification.svg"
"$B/gcn-eval" --curves "$WORK/seg/metrics.csv" --plot "$IMG/curves_segmentation.svg"
"$B/graphinfo" "$WORK/split_test.gs" --show 0 --plot "$IMG/event_true_class.svg"
"$B/graphinfo" "$WORK/split_test.gs" --show 0 --plot "$IMG/event_p_blob.svg" --pred "$WORK/voxels.csv" --prob-class 2
echo "pictures in $IMG; intermediate files in $WORK"
