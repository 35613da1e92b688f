#!/usr/bin/env bash
# Side-by-side benchmark of gcn-train/gcn-predict against PyTorch Geometric on the same streams.
#   benches/gcn/run.sh [EVENTS_PER_CLASS] [EPOCHS] [THREADS]        (defaults: 4000 20 1)
# Environment: OUT (default benches/out/gcn), SEED (training seed of both, default 1), VENV.
# Data as in examples/quickstart.sh: toymc 0nubb (file 1) + 1eroi (file 2), voxel2graph --edges
# classic --cloud-info, graphsplit --stratify binclass --seed 1 (80/10/10). Both implementations
# then train with the reference defaults (nconv 4, mult 2, dropout 0.1, Adam lr 5e-4 eps 1e-6,
# batch 64, class weights auto, ReduceLROnPlateau 0.6/10), the same epochs, seed and thread count,
# one after the other. Prints one table and writes it as JSON to $OUT/result-tTHREADS-eEPOCHS-sSEED.json.
#
# What is measured:
#   training graphs/s  per epoch, wall clock of the training batches only (batch assembly
#                      included): best and median over the epochs, since the machine may be shared
#   eval graphs/s      eval mode over the whole training stream, best of 5 passes, per second of
#                      wall clock and per second of CPU time (user + system, all threads; at one
#                      thread the figure that other load on the machine disturbs least). Ours: the
#                      whole gcn-predict process, reading the stream and writing the CSV included
#   test accuracy/AUC  on the test split with the weights of the lowest validation loss
#                      (best.ckpt for ours; the same rule in pyg_gcn.py)
#   peak RSS           max resident set size of the whole training process (GNU time)
#   CPU s              user + system seconds of the whole training process (all threads)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
events="${1:-4000}"; epochs="${2:-20}"; threads="${3:-1}"
out="${OUT:-$root/benches/out/gcn}"
bin="$root/target/release"
venv="${VENV:-$root/benches/.venv}"
seed="${SEED:-1}"
bash "$root/benches/gcn/setup_venv.sh" >/dev/null 2>&1 || bash "$root/benches/gcn/setup_venv.sh"
(cd "$root" && cargo build --release --locked -q -p gcn-train -p gcn-predict -p toymc -p voxel2graph -p graphsplit </dev/null)
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"

data="$out/data-$events"
if [ ! -f "$data/split_test.gs" ]; then
    rm -rf "$data"
    mkdir -p "$data"
    "$bin/toymc" --events "$events" --kind 0nubb --seed 1 --file-number 1 -o "$data/labels" 2>/dev/null
    "$bin/toymc" --events "$events" --kind 1eroi --seed 1 --file-number 2 -o "$data/labels" 2>/dev/null
    "$bin/voxel2graph" --edges classic --cloud-info "$data"/labels/*.h5 -o "$data/graphs.gs" 2>/dev/null
    "$bin/graphsplit" "$data/graphs.gs" --prefix "$data/split" --stratify binclass --seed 1 2>/dev/null
fi
train="$data/split_train.gs"; valid="$data/split_valid.gs"; test="$data/split_test.gs"
run="$out/run-t$threads-e$epochs-s$seed"
rm -rf "$run"
mkdir -p "$run"

echo "== nextgnn: gcn-train ($epochs epochs, $threads threads)" >&2
/usr/bin/time -f "%M %U %S %e" -o "$run/ours_time" \
    "$bin/gcn-train" --train "$train" --valid "$valid" --out "$run/model" \
    --epochs "$epochs" --threads "$threads" --seed "$seed" 2> "$run/ours_train.log"
"$bin/gcn-predict" --model "$run/model/best.ckpt" "$test" --threads "$threads" \
    -o "$run/ours_pred.csv" 2> "$run/ours_pred.log"
: > "$run/ours_eval"
for _ in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M %U %S" -o "$run/ours_predict_time" "$bin/gcn-predict" \
        --model "$run/model/last.ckpt" "$train" --threads "$threads" -o "$run/ours_pred_train.csv" 2>/dev/null
    t1=$(date +%s.%N)
    echo "$(($(grep -c . "$run/ours_pred_train.csv") - 1)) $t0 $t1 $(cat "$run/ours_predict_time")" >> "$run/ours_eval"
done

echo "== PyTorch Geometric: pyg_gcn.py ($epochs epochs, $threads threads)" >&2
/usr/bin/time -f "%M %U %S %e" -o "$run/pyg_time" \
    "$venv/bin/python" "$root/benches/gcn/pyg_gcn.py" "$train" "$valid" "$test" \
    --epochs "$epochs" --threads "$threads" --seed "$seed" --class-weights auto \
    --pred "$run/pyg_pred.csv" > "$run/pyg.out" 2> "$run/pyg_train.log"

"$venv/bin/python" - "$run" "$train" "$threads" "$epochs" "$events" "$seed" <<'PY'
import csv, json, os, statistics, sys

run, train, threads, epochs, events, seed = sys.argv[1:]


def auc(rows):
    """Area under the ROC curve of class_1 against binclass (rank-sum, ties at the mean rank)."""
    pairs = sorted((float(r["class_1"]), int(r["binclass"])) for r in rows)
    ranks, i = [0.0] * len(pairs), 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        for k in range(i, j):
            ranks[k] = (i + j + 1) / 2
        i = j
    npos = sum(y for _, y in pairs)
    nneg = len(pairs) - npos
    rpos = sum(r for r, (_, y) in zip(ranks, pairs) if y)
    return (rpos - npos * (npos + 1) / 2) / (npos * nneg)


def timefile(name):
    rss_kib, user, system, wall = open(os.path.join(run, name)).read().split()
    return int(rss_kib) / 1024, float(user) + float(system), float(wall)


with open(os.path.join(run, "model", "metrics.csv")) as f:
    metrics = list(csv.DictReader(f))
rates = [float(m["graphs_per_s"]) for m in metrics]
with open(os.path.join(run, "ours_pred.csv")) as f:
    pred = list(csv.DictReader(f))
ours_acc = sum((float(r["class_1"]) > float(r["class_0"])) == (r["binclass"] == "1") for r in pred) / len(pred)
ours_rss, ours_cpu, ours_wall = timefile("ours_time")
pyg = json.loads(open(os.path.join(run, "pyg.out")).read().strip().splitlines()[-1])
pyg_rss, pyg_cpu, pyg_wall = timefile("pyg_time")
best_epoch = min(metrics, key=lambda m: float(m["valid_loss"]))["epoch"]
evals = [line.split() for line in open(os.path.join(run, "ours_eval"))]
ours = {
    "train_gps_best": max(rates), "train_gps_median": statistics.median(rates),
    "eval_gps_best": max(int(n) / (float(t1) - float(t0)) for n, t0, t1, _, _, _ in evals),
    "eval_cpu_gps_best": max(int(n) / max(float(u) + float(s), 0.01) for n, _, _, _, u, s in evals),
    "test_accuracy": ours_acc, "test_auc": auc(pred), "best_epoch": int(best_epoch),
    "peak_rss_mib": ours_rss, "cpu_s": ours_cpu, "wall_s": ours_wall,
}
pyg.update({"peak_rss_mib": pyg_rss, "cpu_s": pyg_cpu, "wall_s": pyg_wall})
stream_mib = os.path.getsize(train) / 2**20
model_mib = os.path.getsize(os.path.join(run, "model", "best.ckpt")) / 2**20
predict_rss = max(int(e[3]) for e in evals) / 1024
print(f"{events} events per class, {epochs} epochs, {threads} thread(s), seed {seed}; "
      f"training stream {stream_mib:.1f} MiB, checkpoint {model_mib:.2f} MiB")
print(f"{'':26}{'nextgnn':>10}{'PyG':>10}{'ratio':>8}")
rows = [
    ("training graphs/s (best)", "train_gps_best", "{:10.0f}"),
    ("training graphs/s (median)", "train_gps_median", "{:10.0f}"),
    ("eval graphs/s (best of 5)", "eval_gps_best", "{:10.0f}"),
    ("eval graphs/CPU-s (best)", "eval_cpu_gps_best", "{:10.0f}"),
    ("test accuracy", "test_accuracy", "{:10.4f}"),
    ("test AUC", "test_auc", "{:10.4f}"),
    ("epoch of best valid loss", "best_epoch", "{:10d}"),
    ("peak RSS MiB (training)", "peak_rss_mib", "{:10.1f}"),
    ("CPU s (training process)", "cpu_s", "{:10.1f}"),
    ("wall s (training process)", "wall_s", "{:10.1f}"),
]
for label, key, fmt in rows:
    o, p = ours[key], pyg[key]
    print(f"{label:26}" + fmt.format(o) + fmt.format(p) + f"{o / p:8.2f}")
limit = 2 * stream_mib + model_mib
verdict = "within" if ours_rss <= limit else "OVER"
print(f"memory target: gcn-train peak {ours_rss:.1f} MiB vs 2 x stream + checkpoint = {limit:.1f} MiB: "
      f"{verdict}; gcn-predict peak {predict_rss:.1f} MiB")
json.dump({"events_per_class": int(events), "epochs": int(epochs), "threads": int(threads),
           "seed": int(seed),
           "train_stream_mib": stream_mib, "checkpoint_mib": model_mib,
           "predict_peak_rss_mib": predict_rss, "nextgnn": ours, "pyg": pyg},
          open(os.path.join(os.path.dirname(run), f"result-t{threads}-e{epochs}-s{seed}.json"), "w"), indent=1)
PY
