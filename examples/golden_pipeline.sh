#!/usr/bin/env bash
# voxel2graph on the real NEXT label file of the golden set, piped into graphinfo:
#   nexus_label_0_doublescape.h5 (6 events, 318 voxels) -> graphs -> summary and one graph.
# Usage: ./examples/golden_pipeline.sh [OUTDIR]    (default: a temporary directory)
# Uses target/debug or target/release binaries when built, else the ones on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GOLDEN="${NEXTGNN_GOLDEN:-$ROOT/../shared/golden}"
OUT="${1:-$(mktemp -d)}"
mkdir -p "$OUT"
for d in "$ROOT/target/release" "$ROOT/target/debug"; do
    if [ -x "$d/voxel2graph" ] && [ -x "$d/graphinfo" ]; then PATH="$d:$PATH"; break; fi
done
LABELS="$GOLDEN/nexus_label_0_doublescape.h5"

echo "== kNN-6 template graphs (the reference defaults), streamed straight into graphinfo"
voxel2graph "$LABELS" | graphinfo -

echo "== classic 26-neighbour graphs with cloud features, to a file"
voxel2graph --edges classic --cloud-info "$LABELS" -o "$OUT/classic_cloud.gs"
graphinfo --show 0 --rows 3 "$OUT/classic_cloud.gs"

echo "== old-format table of the same events (segclass 0..2, file number given)"
voxel2graph --table DATASET/Voxels --features energy --coords xbin,ybin,zbin --fnum 0 \
    --edges classic "$GOLDEN/MC_dataset.h5" -o "$OUT/mc_dataset.gs"
graphinfo "$OUT/mc_dataset.gs"

if command -v graphsplit >/dev/null; then
    echo "== graphsplit into train/valid/test"
    graphsplit "$OUT/classic_cloud.gs" --prefix "$OUT/split" --seed 1
    ls -l "$OUT"/split_*.gs
fi
echo "outputs in $OUT"
