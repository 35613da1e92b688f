#!/usr/bin/env bash
# voxel2graph against the Python reference construction, on the same files (docs/BENCHMARKS.md).
# The reference runs in the benchmark venv (benches/.venv, or $VENV), in two modes: full
# (torch_geometric Data objects, torch.save to a .pt file, as NEXT_GRAPHS does) and arrays only
# (the construction alone, numpy arrays in memory). The venv is made by benches/gcn/setup_venv.sh
# (torch, torch_geometric) if missing, and networkx, pandas, scipy and tables (PyTables) are
# installed into it from PyPI when they are not there yet; both steps do nothing on a second run.
#   benches/voxel2graph/run.sh [REPS ...]    (REPS: copies of the real events in each bigger file, default 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
golden="${NEXTGNN_GOLDEN:-../shared/golden}"
venv="${VENV:-$PWD/benches/.venv}"
VENV="$venv" benches/gcn/setup_venv.sh
if ! "$venv/bin/python" -c "import networkx, pandas, scipy, tables" 2>/dev/null; then
    "$venv/bin/pip" install --quiet networkx pandas scipy tables
fi
"$venv/bin/python" -c "import numpy, pandas, scipy, networkx, tables; print('numpy', numpy.__version__, 'pandas', pandas.__version__, 'scipy', scipy.__version__, 'networkx', networkx.__version__, 'tables', tables.__version__)"
cargo build --release -p voxel2graph
"$venv/bin/python" benches/voxel2graph/bench.py target/release/voxel2graph "$golden" "${@:-200}"
