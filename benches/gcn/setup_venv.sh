#!/usr/bin/env bash
# Creates (or reuses) the benchmark venv with torch and torch_geometric from PyPI.
# The venv defaults to benches/.venv, shared with the other benchmarks; set VENV to move it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${VENV:-$root/benches/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import torch, torch_geometric, psutil" 2>/dev/null; then
    "$venv/bin/pip" install --quiet torch torch_geometric numpy psutil
fi
"$venv/bin/python" -c "import torch, torch_geometric; print('torch', torch.__version__, 'torch_geometric', torch_geometric.__version__)"
