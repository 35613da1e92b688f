#!/usr/bin/env bash
# Side-by-side benchmark of gcn-train/gcn-predict against PyTorch Geometric on the same streams.
#   benches/gcn/run.sh [EVENTS] [EPOCHS] [THREADS]
# Makes toy events (toymc, half 0nubb, half single electrons) -> voxel2graph -> graphsplit, then
# trains both implementations with the reference hyperparameters and prints the ratios.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
events="${1:-4000}"; epochs="${2:-5}"; threads="${3:-1}"
out="${OUT:-$root/benches/out/gcn}"
bin="$root/target/release"
venv="${VENV:-$root/benches/.venv}"
bash "$root/benches/gcn/setup_venv.sh" >/dev/null 2>&1 || bash "$root/benches/gcn/setup_venv.sh"
(cd "$root" && cargo build --release -q -p gcn-train -p gcn-predict -p toymc -p voxel2graph -p graphsplit)
mkdir -p "$out"
if [ ! -f "$out/data_train.gs" ]; then
    mkdir -p "$out/mc"
    "$bin/toymc" --kind mix --events "$events" --seed 1 -o "$out/mc" >/dev/null
    "$bin/voxel2graph" "$out"/mc/*.h5 -o "$out/all.gs"
    "$bin/graphsplit" "$out/all.gs" --prefix "$out/data" --stratify binclass
fi
ls -l "$out"/data_*.gs
common=(--epochs "$epochs" --batch 64 --class-weights 1,1 --seed 0)
# Ours: training (peak memory from GNU time), then eval throughput from gcn-predict.
rm -rf "$out/run"
/usr/bin/time -f "%M" -o "$out/ours_rss_kib" \
    "$bin/gcn-train" --train "$out/data_train.gs" --valid "$out/data_valid.gs" --out "$out/run" \
    --threads "$threads" "${common[@]}" 2> "$out/ours_train.log"
t0=$(date +%s.%N)
"$bin/gcn-predict" --model "$out/run/last.ckpt" "$out/data_test.gs" --threads "$threads" -o "$out/pred.csv" 2> "$out/ours_pred.log"
t1=$(date +%s.%N)
ntest=$(($(wc -l < "$out/pred.csv") - 1))
ours_train=$(awk -F, 'NR>1 {s+=$NF; n++} END {print s/n}' "$out/run/metrics.csv")
ours_eval=$(echo "$ntest / ($t1 - $t0)" | bc -l)
ours_acc=$(sed -n 's/.*accuracy \([0-9.]*\).*/\1/p' "$out/ours_pred.log")
ours_rss=$(( $(cat "$out/ours_rss_kib") / 1024 ))
pyg=$("$venv/bin/python" "$root/benches/gcn/pyg_gcn.py" "$out/data_train.gs" "$out/data_valid.gs" \
    "$out/data_test.gs" --threads "$threads" --epochs "$epochs" --batch 64 --class-weights 1,1 2>/dev/null | tail -1)
python3 - "$ours_train" "$ours_eval" "$ours_acc" "$ours_rss" "$pyg" "$threads" "$epochs" <<'PY'
import json, sys
ot, oe, oa, orss = map(float, sys.argv[1:5]); p = json.loads(sys.argv[5])
print(f"threads {sys.argv[6]}, epochs {sys.argv[7]}")
print(f"{'':22}{'nextgnn':>12}{'PyG':>12}{'ratio':>10}")
for name, o, q in [("train graphs/s", ot, p["train_graphs_per_s"]), ("eval graphs/s", oe, p["eval_graphs_per_s"]),
                   ("test accuracy", oa, p["test_accuracy"]), ("peak RSS MiB", orss, p["peak_rss_mib"])]:
    print(f"{name:22}{o:12.3f}{q:12.3f}{o / q:10.2f}")
PY
