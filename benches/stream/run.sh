#!/usr/bin/env bash
# Graph stream benchmark: bytes per graph and read time against torch.save / torch.load.
#
#   benches/stream/run.sh [GRAPHS]      (default 200000; needs ../shared/golden)
#
# Builds a stream of GRAPHS graphs by repeating the six reference graphs of
# graphs_classic_cloud.json (each copy gets new dataset_ids), writes the same graphs with
# torch.save as a list of torch_geometric Data (as the reference pipeline stores them), and times
# reading both. torch (CPU) and torch_geometric go into benches/.venv (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200000}
GOLDEN=${NEXTGNN_GOLDEN:-../shared/golden}
OUT=benches/out
mkdir -p "$OUT"

if [ ! -x benches/.venv/bin/python ]; then
    python3 -m venv benches/.venv
fi
benches/.venv/bin/python -c "import torch, torch_geometric" 2>/dev/null ||
    benches/.venv/bin/pip install -q numpy torch torch_geometric

cargo build --release -q -p graphinfo
cargo build --release -q -p nextgnn-stream --example json2stream
REPEAT=$(( (N + 5) / 6 ))
# Kept between runs: the .pt is rewritten only when the stream is newer.
[ -f "$OUT/bench_$N.gs" ] ||
    target/release/examples/json2stream "$GOLDEN/graphs_classic_cloud.json" "$OUT/bench_$N.gs" "$REPEAT"
benches/.venv/bin/python benches/stream/bench.py "$OUT/bench_$N.gs" "$OUT/bench_$N.pt" target/release/graphinfo
