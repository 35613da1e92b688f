#!/usr/bin/env bash
# toymc speed: events per second on one thread (and on all threads), file size per event.
#
#   benches/toymc/run.sh [EVENTS]      (default 50000 per kind)
#
# Release build; wall time of the whole command (simulation, labelling, HDF5 writing) measured
# here, best of 3 runs. Output files go to benches/out/toymc (git-ignored) and are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50000}
OUT=benches/out/toymc
mkdir -p "$OUT"
cargo build --release -q -p toymc
EXE=target/release/toymc

# best of 3: "wall cpu" seconds of one run (cpu = user + sys of the process, which on a shared
# machine measures the work per core better than the wall time)
best_times() { # kind threads
    local best_wall=1e9 best_cpu=1e9
    for _ in 1 2 3; do
        rm -f "$OUT"/*.h5
        local t
        t=$( { TIMEFORMAT='%R %U %S'; time "$EXE" --events "$N" --kind "$1" --seed 1 --file-number 0 \
                 --threads "$2" -o "$OUT" 2>/dev/null; } 2>&1 )
        read -r w u s <<<"$t"
        best_wall=$(python3 -c "print(min($best_wall, $w))")
        best_cpu=$(python3 -c "print(min($best_cpu, $u + $s))")
    done
    echo "$best_wall $best_cpu"
}

printf '%-6s %8s %14s %14s %14s %12s\n' kind events "ev/s 1thr wall" "ev/s per cpu-s" "ev/s all wall" "bytes/event"
for kind in 0nubb 1eroi mix; do
    read -r w1 c1 <<<"$(best_times "$kind" 1)"
    read -r wa _ <<<"$(best_times "$kind" 0)"
    size=$(stat -c %s "$OUT"/nexus_label_0_"$kind".h5)
    python3 -c "print('%-6s %8d %14.0f %14.0f %14.0f %12.0f' % ('$kind', $N, $N/$w1, $N/$c1, $N/$wa, $size/$N))"
done
rm -f "$OUT"/*.h5
echo "cores: $(nproc), $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
