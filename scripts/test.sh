#!/usr/bin/env bash
# Runs every nextgnn test: Rust unit, golden and end-to-end tests, the Python reader and toymc
# interop tests, and (with CI set, or NEXTGNN_SLURM_TEST=1) the real single-node SLURM test.
# Installs missing system packages when run as root; otherwise says what to install.
set -euo pipefail
# Nothing here reads a terminal; a closed stdin keeps cargo and rustc from reading stray input.
exec </dev/null
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system_deps

step() { printf '\n== %s\n' "$*" >&2; }

if [ -n "${CI:-}" ] && [ ! -f ../shared/golden/README.md ] && [ -z "${NEXTGNN_GOLDEN:-}" ]; then
    echo "error: ../shared/golden is missing: the golden tests need the reference files beside the checkout" >&2
    exit 1
fi

# Cargo caches its rustc probes here; a failed probe once cached breaks every later command.
rm -f target/.rustc_info.json

step "build (debug)"
cargo build --workspace --all-targets --locked 2>&1 | tail -n 3

step "python venv for the interop tests (numpy, scipy, pandas, PyTables, h5py, pytest)"
VENV=target/pyvenv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check numpy scipy pytest pandas tables h5py
# The venv's python3 comes first so that tests comparing with scipy (Delaunay) find it.
export PATH="$PWD/$VENV/bin:$PATH"

step "cargo test"
# Kept: cargo's "Running <test binary>" and "Doc-tests <crate>" lines, which say which suite the
# "running N tests" and "test result: " lines below them belong to. The summary is matched with its
# colon: a test named results_* prints "test results_... ... ok", which is not a summary.
cargo test --workspace --locked 2>&1 | tee target/cargo-test.log |
    grep -E '^ +(Running|Doc-tests) |^(test result: |running [0-9]+ tests?$|error|failures|---- |thread )' || true
if grep -qE '^test result: FAILED|^error' target/cargo-test.log || ! grep -q '^test result: ' target/cargo-test.log; then
    echo "cargo test failed: see target/cargo-test.log" >&2
    grep -A30 -E '^failures:' target/cargo-test.log >&2 || tail -n 40 target/cargo-test.log >&2
    exit 1
fi

step "python tests (numpy reader, pandas/tables interop)"
PATH="$PWD/target/debug:$PATH" python -m pytest -q python/tests 2>&1 | tee target/pytest.log

if [ -n "${CI:-}" ] || [ -n "${NEXTGNN_SLURM_TEST:-}" ]; then
    step "SLURM (single node on loopback)"
    NEXTGNN_BIN="$PWD/target/debug" bash tests/slurm/run.sh
fi

grep -E '^test result: ' target/cargo-test.log | awk '{p+=$4; f+=$6} END {printf "cargo: %d passed, %d failed\n", p, f}'
echo "python: $(grep -oE '[0-9]+ passed' target/pytest.log | tail -n 1)"
