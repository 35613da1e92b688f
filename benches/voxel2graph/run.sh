#!/usr/bin/env bash
# voxel2graph against the Python reference construction, on the same files (docs/BENCHMARKS.md).
# Needs python3 with numpy, pandas, scipy, networkx and tables (PyTables).
#   benches/voxel2graph/run.sh [REPS ...]    (REPS: copies of the real events in each bigger file, default 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
golden="${NEXTGNN_GOLDEN:-../shared/golden}"
cargo build --release -p voxel2graph
python3 benches/voxel2graph/bench.py target/release/voxel2graph "$golden" "${@:-200}"
