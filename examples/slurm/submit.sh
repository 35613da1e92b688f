#!/usr/bin/env bash
# Submits the nextgnn chain to SLURM, each stage waiting for the previous one (afterok):
#   toymc (array) -> voxel2graph (array) -> split -> train (GPU partition, requeues itself) -> predict
# and prints one "STAGE JOBID" line per submitted job.
#
# Usage:
#   NEXTGNN_WORK=/scratch/$USER/run1 examples/slurm/submit.sh [--from STAGE] [--to STAGE] [--dry-run]
#
#   --from STAGE  start at STAGE (toymc, voxel2graph, split, train, predict), e.g. --from train
#                 to continue a training that ran out of time
#   --to STAGE    stop after STAGE, e.g. --to split to prepare the data only
#   --dry-run     print the sbatch commands instead of running them (writes nothing)
#
# Everything else comes from the environment (docs/CLUSTER.md has the full list):
#   NEXTGNN_WORK           run directory, created if needed (default ./nextgnn-run)
#   NEXTGNN_BIN            directory with the nextgnn binaries (default: found on PATH)
#   NEXTGNN_SETUP          shell commands each job runs first, e.g. "module load hdf5 cuda"
#   NEXTGNN_PARTITION      partition of the CPU stages (default: the cluster's default)
#   NEXTGNN_GPU_PARTITION  partition of the training job (default: NEXTGNN_PARTITION)
#   NEXTGNN_ACCOUNT        account charged for every job (default: your default account)
#   NEXTGNN_GPUS           GPUs for training as a --gres value, e.g. gpu:1 or gpu:a100:1
#                          (default none; when set, NEXTGNN_DEVICE defaults to cuda)
#   NEXTGNN_LABELS         a file listing existing label files, one per line: skips toymc
#   NEXTGNN_FILES          toy files to generate, one toymc task each (default 10)
#   NEXTGNN_EVENTS         events per toy file (default 1000)
#   NEXTGNN_V2G_TASKS      voxel2graph array size (default: one task per label file)
#   NEXTGNN_ARRAY_LIMIT    at most this many array tasks at once (the %N of --array)
#   NEXTGNN_TRAIN_TIME     time limit of one training run before it requeues (default 12:00:00)
#   NEXTGNN_TRAIN_WARN     seconds before the limit at which training checkpoints and requeues
#                          (default 300; SLURM may send the warning up to 60 s earlier)
#   NEXTGNN_TRAIN_CPUS     CPUs of the training job (default 4)
#   NEXTGNN_SBATCH_ARGS    extra sbatch flags for every job, e.g. "--qos=short"
#   NEXTGNN_AFTER          job id the first submitted stage waits for (afterok)
# and the per-stage variables read by the *.sbatch scripts (NEXTGNN_KIND, NEXTGNN_SEED,
# NEXTGNN_EPOCHS, NEXTGNN_SPLIT_MODE, NEXTGNN_TRAIN_ARGS, ...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stages=(toymc voxel2graph split train predict)

from=toymc
to=predict
dry=0
while [ $# -gt 0 ]; do
    case "$1" in
    --from) from="${2:?--from needs a stage}"; shift 2 ;;
    --from=*) from="${1#--from=}"; shift ;;
    --to) to="${2:?--to needs a stage}"; shift 2 ;;
    --to=*) to="${1#--to=}"; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
start=-1
end=-1
for i in "${!stages[@]}"; do
    [ "${stages[$i]}" = "$from" ] && start=$i
    [ "${stages[$i]}" = "$to" ] && end=$i
done
if [ "$start" -lt 0 ] || [ "$end" -lt 0 ]; then
    echo "error: --from and --to take one of ${stages[*]} (got '$from', '$to')" >&2
    exit 2
fi
# wanted STAGE: STAGE lies between --from and --to.
wanted() {
    local i
    for i in "${!stages[@]}"; do
        [ "${stages[$i]}" = "$1" ] && [ "$i" -ge "$start" ] && [ "$i" -le "$end" ] && return 0
    done
    return 1
}

# Settings are checked here, not when a job reads them an hour later.
for v in NEXTGNN_FILES NEXTGNN_V2G_TASKS NEXTGNN_EPOCHS NEXTGNN_ARRAY_LIMIT; do
    if [ -n "${!v:-}" ] && ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
        echo "error: $v=${!v}: give a whole number, at least 1" >&2
        exit 2
    fi
done
case "${NEXTGNN_TASK:-classification}" in classification | segmentation) ;; *)
    echo "error: NEXTGNN_TASK=$NEXTGNN_TASK: give classification or segmentation" >&2
    exit 2
    ;;
esac
case "${NEXTGNN_SPLIT_MODE:-global}" in global | hash) ;; *)
    echo "error: NEXTGNN_SPLIT_MODE=$NEXTGNN_SPLIT_MODE: give global or hash" >&2
    exit 2
    ;;
esac

NEXTGNN_WORK="${NEXTGNN_WORK:-$PWD/nextgnn-run}"
# A dry run creates and writes nothing: the work directory is only named.
if [ "$dry" = 1 ]; then
    NEXTGNN_WORK="$(realpath -m "$NEXTGNN_WORK")"
    labels_out=/dev/null
else
    mkdir -p "$NEXTGNN_WORK/logs"
    NEXTGNN_WORK="$(cd "$NEXTGNN_WORK" && pwd)"
    labels_out="$NEXTGNN_WORK/labels.txt"
fi
export NEXTGNN_WORK
if [ -n "${NEXTGNN_BIN:-}" ]; then
    NEXTGNN_BIN="$(cd "$NEXTGNN_BIN" && pwd)"
    export NEXTGNN_BIN
fi
if [ -n "${NEXTGNN_GPUS:-}" ]; then
    export NEXTGNN_DEVICE="${NEXTGNN_DEVICE:-cuda}"
fi
# The jobs read the NEXTGNN_* variables from the environment they are submitted with.
for v in $(compgen -v NEXTGNN_); do export "${v?}"; done

# Checks the binaries here, not an hour later in a job, when they are on this node's PATH.
for tool in toymc voxel2graph graphsplit gcn-train gcn-predict; do
    if ! PATH="${NEXTGNN_BIN:+$NEXTGNN_BIN:}$PATH" command -v "$tool" >/dev/null 2>&1; then
        echo "warning: $tool is not in ${NEXTGNN_BIN:-PATH}; set NEXTGNN_BIN to the nextgnn target/release directory" >&2
    fi
done

common=(--parsable --export=ALL)
[ -n "${NEXTGNN_ACCOUNT:-}" ] && common+=(--account="$NEXTGNN_ACCOUNT")
# shellcheck disable=SC2206
[ -n "${NEXTGNN_SBATCH_ARGS:-}" ] && common+=($NEXTGNN_SBATCH_ARGS)
cpu=()
[ -n "${NEXTGNN_PARTITION:-}" ] && cpu+=(--partition="$NEXTGNN_PARTITION")
gpu=()
gpu_partition="${NEXTGNN_GPU_PARTITION:-${NEXTGNN_PARTITION:-}}"
[ -n "$gpu_partition" ] && gpu+=(--partition="$gpu_partition")
[ -n "${NEXTGNN_GPUS:-}" ] && gpu+=(--gres="$NEXTGNN_GPUS")
throttle="${NEXTGNN_ARRAY_LIMIT:+%$NEXTGNN_ARRAY_LIMIT}"

# Label files: given, or the names toymc will write (nexus_label_<K>_<kind>.h5).
if [ -n "${NEXTGNN_LABELS:-}" ]; then
    [ -r "$NEXTGNN_LABELS" ] || { echo "error: NEXTGNN_LABELS=$NEXTGNN_LABELS: no such readable file (one label file path per line)" >&2; exit 1; }
    grep -v '^[[:space:]]*$' "$NEXTGNN_LABELS" >"$labels_out" || true
    nfiles=$(grep -cv '^[[:space:]]*$' "$NEXTGNN_LABELS" || true)
    [ "$nfiles" -gt 0 ] || { echo "error: $NEXTGNN_LABELS lists no files" >&2; exit 1; }
    [ "$start" -eq 0 ] && start=1 # no toymc stage on real files
else
    nfiles="${NEXTGNN_FILES:-10}"
    kind="${NEXTGNN_KIND:-mix}"
    for ((k = 0; k < nfiles; k++)); do
        echo "$NEXTGNN_WORK/labels/nexus_label_${k}_${kind}.h5"
    done >"$labels_out"
fi
ntasks="${NEXTGNN_V2G_TASKS:-$nfiles}"
[ "$ntasks" -gt "$nfiles" ] && ntasks=$nfiles
# The voxel2graph tasks read their count from here, so that one of them rerun alone keeps its share.
export NEXTGNN_V2G_TASKS="$ntasks"

# A training run resumes from last.ckpt: new data under an old checkpoint would mix two runs.
model_dir="${NEXTGNN_MODEL_DIR:-$NEXTGNN_WORK/model}"
if [ "$start" -lt 3 ] && [ -s "$model_dir/last.ckpt" ]; then
    echo "error: $model_dir already holds a checkpoint: use a new NEXTGNN_WORK, or --from train to continue it" >&2
    exit 1
fi

prev="${NEXTGNN_AFTER:-}"
submit() { # submit STAGE LOG-PATTERN SBATCH-ARGS... : prints the job id, chained after the previous stage
    local stage=$1 log=$2 id
    shift 2
    local cmd=(sbatch "${common[@]}" ${prev:+--dependency=afterok:$prev}
        --output="$NEXTGNN_WORK/logs/$log" "$@" "$here/$stage.sbatch")
    if [ "$dry" = 1 ]; then
        printf '%q ' "${cmd[@]}" >&2
        echo >&2
        id="DRY$stage"
    else
        id=$("${cmd[@]}")
        id="${id%%;*}" # --parsable prints "id" or "id;cluster"
    fi
    echo "$stage $id"
    prev=$id
}

wanted toymc && submit toymc '%x-%A_%a.out' "${cpu[@]}" --array="0-$((nfiles - 1))$throttle"
wanted voxel2graph && submit voxel2graph '%x-%A_%a.out' "${cpu[@]}" --array="0-$((ntasks - 1))$throttle"
wanted split && submit split '%x-%j.out' "${cpu[@]}"
wanted train && submit train '%x-%j.out' "${gpu[@]}" --cpus-per-task="${NEXTGNN_TRAIN_CPUS:-4}" \
    ${NEXTGNN_TRAIN_TIME:+--time=$NEXTGNN_TRAIN_TIME} ${NEXTGNN_TRAIN_WARN:+--signal=B:USR1@$NEXTGNN_TRAIN_WARN}
wanted predict && submit predict '%x-%j.out' "${cpu[@]}"
echo "logs: $NEXTGNN_WORK/logs   outputs: $NEXTGNN_WORK" >&2
