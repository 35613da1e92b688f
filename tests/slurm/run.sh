#!/usr/bin/env bash
# End-to-end test of examples/slurm on a real, single-node SLURM cluster on loopback.
#
# As root it installs Debian's slurmctld, slurmd, slurm-client and munge when missing, starts a
# private munged and a one-node cluster from a generated slurm.conf in a temporary directory, then:
#   - runs an array job and an afterok dependency, and checks that a failed dependency is cancelled;
#   - submits the example chain (examples/slurm/submit.sh) on a small toy dataset and checks every
#     stage's outputs: one label file per toymc task, graph counts that add up across the
#     voxel2graph tasks and the three splits, one prediction per test event; and the same files
#     through the hash split mode (graphsplit --by-hash per task, cat per split);
#   - sends a training job the time-limit warning signal: it must checkpoint, requeue itself,
#     resume from last.ckpt and finish with the right number of epochs;
#   - gives a training job a one-minute time limit: SLURM's own warning must make it checkpoint,
#     requeue and resume where it stopped;
#   - cancels a training job: it must leave last.ckpt, and `submit.sh --from train` must resume it;
#     both interrupted runs must end with identical training curves (resume is exact).
# The daemons it started are stopped by PID on every exit. The last line is "slurm: N passed, M
# failed"; the exit status is non-zero when anything failed.
#
# Usage: sudo tests/slurm/run.sh
# Environment:
#   NEXTGNN_BIN            directory of the nextgnn binaries (default: target/debug, built if missing)
#   NEXTGNN_SLURM_TIMEOUT  seconds to wait for each group of jobs (default 300)
#   NEXTGNN_SLURM_KEEP=1   keep the temporary directory (logs, outputs) after the run
set -uo pipefail
shopt -s nullglob

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SLURM_DIR="$ROOT/examples/slurm"
TIMEOUT="${NEXTGNN_SLURM_TIMEOUT:-300}"
TOOLS=(toymc voxel2graph graphsplit graphinfo gcn-train gcn-predict)

# The toy run: small enough for two CPUs in about a minute.
FILES=2
EVENTS=150
EPOCHS=2
# Training runs that get interrupted need enough epochs to be caught in the middle.
LONG_EPOCHS=12

pass=0
fail=0
finished=0
T=""
declare -A DAEMON_PID=()
DAEMONS=()

say() { echo "slurm-test: $*" >&2; }
ok() {
    pass=$((pass + 1))
    echo "ok     $*"
}
not_ok() {
    fail=$((fail + 1))
    echo "FAILED $*"
}
# check DESCRIPTION COMMAND...: one test result from a command's exit status.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# fatal DESCRIPTION: a failed step that the rest cannot run without.
fatal() {
    not_ok "$*"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Daemons: started here, remembered by PID, stopped by PID.

# alive PID: the process exists and is not a zombie (kill -0 succeeds on zombies).
alive() {
    local state
    [ -r "/proc/$1/stat" ] || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# remember NAME PIDFILE COMM: records the PID of a daemon that just forked into the background.
remember() {
    local name=$1 pidfile=$2 comm=$3 pid="" i
    for ((i = 0; i < 100; i++)); do
        if [ -s "$pidfile" ]; then
            pid=$(tr -dc '0-9' <"$pidfile")
            [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] && break
        fi
        pid=""
        sleep 0.1
    done
    [ -n "$pid" ] || return 1
    DAEMON_PID[$name]=$pid
    DAEMONS+=("$name")
}

stop_daemons() {
    local i name pid n
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        name=${DAEMONS[$i]}
        pid=${DAEMON_PID[$name]}
        alive "$pid" || continue
        kill -TERM "$pid" 2>/dev/null
        for ((n = 0; n < 100; n++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            say "$name (pid $pid) ignored TERM: killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${DAEMON_PID[slurmctld]:-}" ] && alive "${DAEMON_PID[slurmctld]}"; then
        # Jobs first, so that no slurmstepd outlives the cluster.
        scancel --quiet --user=root 2>/dev/null
        local n
        for ((n = 0; n < 50; n++)); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    stop_daemons
    if [ "$finished" = 0 ] && [ "$fail" -eq 0 ]; then
        not_ok "test run ended early (exit status $rc)"
    fi
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${NEXTGNN_SLURM_KEEP:-}" = 1 ] || [ "$fail" -gt 0 ]; then
            say "logs and outputs kept in $T"
        else
            rm -rf "$T"
        fi
    fi
    # The closing line, always last.
    echo "slurm: $pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$finished" = 1 ] && exit 0
    exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Jobs

# state JOBID: the job's states, one per line (one per array task).
state() {
    scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}
# field JOBID NAME: one field of `scontrol show job` (first array task).
field() {
    scontrol show job -o "$1" 2>/dev/null | head -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
finished_state() {
    case "$1" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | BOOT_FAIL | DEADLINE | PREEMPTED) return 0 ;;
    *) return 1 ;;
    esac
}
# over JOBID: every task of the job has finished (e.g. cancelled after a failed dependency).
over() {
    local s st
    s=$(state "$1")
    [ -n "$s" ] || return 1
    while read -r st; do finished_state "$st" || return 1; done <<<"$s"
}
# wait_jobs SECONDS JOBID...: waits until every job (and array task) has finished.
wait_jobs() {
    local limit=$1 deadline id all
    shift
    deadline=$((SECONDS + limit))
    while [ "$SECONDS" -lt "$deadline" ]; do
        all=1
        for id in "$@"; do
            over "$id" || all=0
        done
        [ "$all" = 1 ] && return 0
        sleep 1
    done
    say "timed out after ${limit}s waiting for jobs $*:"
    squeue >&2
    return 1
}
# all_completed JOBID...: every task of every job ended COMPLETED.
all_completed() {
    local id s
    for id in "$@"; do
        s=$(state "$id")
        [ -n "$s" ] || return 1
        if grep -qv '^COMPLETED$' <<<"$s"; then
            say "job $id: $(tr '\n' ' ' <<<"$s")"
            return 1
        fi
    done
}
# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$deadline" ]; do
        "$@" && return 0
        sleep 0.5
    done
    return 1
}
# submit_chain ARGS...: runs submit.sh, fills JOB[stage] with the job ids it printed.
declare -A JOB=()
submit_chain() {
    local out stage id
    if ! out=$("$SLURM_DIR/submit.sh" "$@" 2>"$T/submit.err"); then
        say "submit.sh $* failed:"
        cat "$T/submit.err" >&2
        return 1
    fi
    JOB=()
    while read -r stage id; do
        [ -n "$stage" ] && JOB[$stage]=$id
    done <<<"$out"
    say "submitted: $(tr '\n' ' ' <<<"$out")"
}
show_log() { # show_log FILE...: the end of job logs, for failures
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "---- $f" >&2
        tail -n 15 "$f" >&2
    done
}

# ---------------------------------------------------------------------------------------------
# Cluster

if [ "$(id -u)" -ne 0 ]; then
    fatal "running as root (needed to install packages and start munged, slurmctld and slurmd)"
fi

# Inherited job variables would confuse the tools and the clients.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO)_')

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
    ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge; } >"/tmp/nextgnn-slurm-apt.log" 2>&1; then
        tail -n 20 /tmp/nextgnn-slurm-apt.log >&2
        fatal "install slurmctld slurmd slurm-client munge"
    fi
fi
for u in munge slurm; do
    id "$u" >/dev/null 2>&1 || fatal "user $u exists (made by the Debian packages)"
done

# port_free PORT: nothing listens on PORT (IPv4 or IPv6).
port_free() {
    local hex
    hex=$(printf ':%04X ' "$1")
    ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2 " "}' | grep -q "$hex"
}
ctld_port=6817
while ! port_free "$ctld_port" || ! port_free $((ctld_port + 1)); do
    ctld_port=$((ctld_port + 2))
    [ "$ctld_port" -gt 6900 ] && fatal "find two free ports for slurmctld and slurmd"
done

T=$(mktemp -d /tmp/nextgnn-slurm.XXXXXX)
chmod 755 "$T"
# munged refuses a socket directory that is not world-searchable and a key others can read.
mkdir -p "$T/munge" "$T/munge-run" "$T/slurm/state" "$T/slurm/spool" "$T/slurm/log" "$T/slurm/run" "$T/work"
chown munge:munge "$T/munge" "$T/munge-run"
chmod 700 "$T/munge"
chmod 755 "$T/munge-run"
chown -R slurm:slurm "$T/slurm"
mungekey --create --keyfile="$T/munge/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$T/munge/munge.key"
chmod 600 "$T/munge/munge.key"
socket="$T/munge-run/munge.socket"
runuser -u munge -- /usr/sbin/munged --key-file="$T/munge/munge.key" --socket="$socket" \
    --pid-file="$T/munge-run/munged.pid" --log-file="$T/munge/munged.log" \
    --seed-file="$T/munge/munged.seed" >/dev/null 2>&1
if ! remember munged "$T/munge-run/munged.pid" munged ||
    ! munge -S "$socket" -n </dev/null 2>/dev/null | unmunge -S "$socket" >/dev/null 2>&1; then
    cat "$T/munge/munged.log" >&2 2>/dev/null
    fatal "munged starts and encodes a credential"
fi

mem=$(awk '/^MemAvailable:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
export SLURM_CONF="$T/slurm/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# Single-node test cluster of nextgnn's tests/slurm/run.sh: loopback only, no accounting.
ClusterName=nextgnn-test
SlurmctldHost=localhost
SlurmUser=slurm
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldPidFile=$T/slurm/run/slurmctld.pid
SlurmdPidFile=$T/slurm/run/slurmd.pid
SlurmctldLogFile=$T/slurm/log/slurmctld.log
SlurmdLogFile=$T/slurm/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
# Without it a job whose afterok dependency failed waits forever.
DependencyParameters=kill_invalid_depend
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
ReturnToService=2
MinJobAge=3600
KillWait=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

/usr/sbin/slurmctld -f "$SLURM_CONF" -c >/dev/null 2>&1
remember slurmctld "$T/slurm/run/slurmctld.pid" slurmctld || say "slurmctld did not start"
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost >/dev/null 2>&1
remember slurmd "$T/slurm/run/slurmd.pid" slurmd || say "slurmd did not start"
node_idle() { [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; }
if ! wait_until 30 node_idle; then
    tail -n 20 "$T/slurm/log/slurmctld.log" "$T/slurm/log/slurmd.log" >&2 2>/dev/null
    fatal "single-node cluster up (node idle)"
fi
ok "single-node cluster up: node idle with $(nproc) CPUs, ports $ctld_port/$((ctld_port + 1))"

# ---------------------------------------------------------------------------------------------
# The scheduler itself: array + dependency, and a dependency that can never be satisfied.

mkdir -p "$T/smoke"
# shellcheck disable=SC2016 # expanded by the job, not here
arr=$(sbatch --parsable -o "$T/smoke/arr-%a.out" --array=0-2 \
    --wrap 'echo "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT $(hostname)" >'"$T/smoke"'/task-$SLURM_ARRAY_TASK_ID')
dep=$(sbatch --parsable -o "$T/smoke/dep.out" --dependency="afterok:$arr" \
    --wrap "cat $T/smoke/task-* >$T/smoke/all")
bad=$(sbatch --parsable -o "$T/smoke/bad.out" --wrap 'exit 3')
never=$(sbatch --parsable -o "$T/smoke/never.out" --dependency="afterok:$bad" --wrap 'true')
if wait_jobs 60 "$arr" "$dep" "$never" && all_completed "$arr" "$dep" &&
    [ "$(cut -d' ' -f1 "$T/smoke/all" 2>/dev/null | tr '\n' ' ')" = "0/3 1/3 2/3 " ]; then
    ok "array of 3 tasks + afterok dependency"
else
    not_ok "array of 3 tasks + afterok dependency"
fi
check "afterok on a failed job is cancelled, not left waiting" \
    test "$(state "$never")" = CANCELLED

# ---------------------------------------------------------------------------------------------
# The example chain on toy data.

BIN="${NEXTGNN_BIN:-$ROOT/target/debug}"
missing=()
for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ] && [ -z "${NEXTGNN_BIN:-}" ]; then
    say "building ${missing[*]}"
    pkgs=()
    for t in "${TOOLS[@]}"; do pkgs+=(-p "$t"); done
    (cd "$ROOT" && cargo build -q "${pkgs[@]}") >&2
    missing=()
    for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || missing+=("$t"); done
fi
if [ ${#missing[@]} -gt 0 ]; then
    fatal "nextgnn binaries in $BIN (missing: ${missing[*]})"
fi
BIN="$(cd "$BIN" && pwd)"
W="$T/work"
export NEXTGNN_BIN="$BIN" NEXTGNN_WORK="$W" NEXTGNN_FILES=$FILES NEXTGNN_EVENTS=$EVENTS
export NEXTGNN_EPOCHS=$EPOCHS NEXTGNN_SEED=7 NEXTGNN_TRAIN_CPUS=1 NEXTGNN_KIND=mix
export NEXTGNN_SIGNAL_FRACTION=0.5

if ! submit_chain; then
    fatal "submit.sh submits the chain"
fi
chain=("${JOB[toymc]:-}" "${JOB[voxel2graph]:-}" "${JOB[split]:-}" "${JOB[train]:-}" "${JOB[predict]:-}")
check "submit.sh prints 5 job ids" test "${#JOB[@]}" -eq 5
split_job=${JOB[split]}

# The same label files through hash mode: each voxel2graph task splits its own graphs.
NEXTGNN_WORK="$T/work-hash" NEXTGNN_LABELS="$W/labels.txt" NEXTGNN_SPLIT_MODE=hash \
    NEXTGNN_AFTER=${JOB[toymc]} submit_chain --to split
hash_jobs=("${JOB[voxel2graph]:-}" "${JOB[split]:-}")

# Two more training runs on the chain's split, interrupted below; they start once it exists.
NEXTGNN_EPOCHS=$LONG_EPOCHS NEXTGNN_MODEL_DIR="$W/model-requeue" NEXTGNN_AFTER=$split_job \
    NEXTGNN_PREDICTIONS="$W/preds-requeue.csv" submit_chain --from train
rq_train=${JOB[train]:-}
rq_predict=${JOB[predict]:-}
NEXTGNN_EPOCHS=$LONG_EPOCHS NEXTGNN_MODEL_DIR="$W/model-cancel" NEXTGNN_AFTER=$split_job \
    NEXTGNN_PREDICTIONS="$W/preds-cancel.csv" submit_chain --from train
cancel_train=${JOB[train]:-}
cancel_predict=${JOB[predict]:-}
# One-minute limit, warning 20 s before it (SLURM checks every 30 s or so), far too many epochs.
NEXTGNN_EPOCHS=100000 NEXTGNN_MODEL_DIR="$W/model-timelimit" NEXTGNN_TRAIN_TIME=1 \
    NEXTGNN_TRAIN_WARN=20 NEXTGNN_AFTER=$split_job submit_chain --from train --to train
tl_train=${JOB[train]:-}

# epochs_done DIR: the last epoch recorded in DIR/metrics.csv (0 when none).
epochs_done() {
    python3 - "$1/metrics.csv" <<'PY'
import csv, sys
try:
    rows = list(csv.DictReader(open(sys.argv[1])))
except OSError:
    rows = []
print(int(float(rows[-1]["epoch"])) if rows else 0)
PY
}
# epochs_once DIR N: metrics.csv lists epochs 1..N, each once (a resume neither repeats nor skips one).
epochs_once() {
    python3 - "$1/metrics.csv" "$2" <<'PY'
import csv, sys
epochs = [int(float(r["epoch"])) for r in csv.DictReader(open(sys.argv[1]))]
sys.exit(0 if epochs == list(range(1, int(sys.argv[2]) + 1)) else 1)
PY
}
# same_curves DIR1 DIR2: both runs recorded the same losses and accuracies, epoch by epoch.
same_curves() {
    python3 - "$1/metrics.csv" "$2/metrics.csv" <<'PY'
import csv, sys
def curve(path):
    return [{k: v for k, v in r.items() if k not in ("seconds", "graphs_per_s")}
            for r in csv.DictReader(open(path))]
a, b = curve(sys.argv[1]), curve(sys.argv[2])
if a != b:
    for ra, rb in zip(a, b):
        if ra != rb:
            print(f"slurm-test: first difference: {ra} vs {rb}", file=sys.stderr)
            break
sys.exit(0 if a == b and a else 1)
PY
}
# mid_training DIR: a checkpoint exists and at least one epoch is recorded.
mid_training() { [ -s "$1/last.ckpt" ] && [ "$(epochs_done "$1")" -ge 1 ]; }

# ready_or_over DIR JOBID: the training in DIR can be interrupted now, or never will.
ready_or_over() { mid_training "$1" || over "$2"; }

# Requeue: the time-limit warning (--signal=B:USR1@300) sent by hand, in the middle of training.
if wait_until "$TIMEOUT" ready_or_over "$W/model-requeue" "$rq_train" && ! over "$rq_train"; then
    say "requeue test: $(epochs_done "$W/model-requeue") epochs done, sending USR1 to the batch shell"
    scancel --batch --signal=USR1 "$rq_train"
else
    say "requeue test: training never reached its first checkpoint"
fi
# Cancel: scancel sends TERM to everything; the trainer checkpoints, SLURM refuses the requeue.
if wait_until "$TIMEOUT" ready_or_over "$W/model-cancel" "$cancel_train" && ! over "$cancel_train"; then
    say "cancel test: $(epochs_done "$W/model-cancel") epochs done, cancelling job $cancel_train"
    scancel "$cancel_train"
else
    say "cancel test: training never reached its first checkpoint"
fi

# A real time limit: SLURM's own warning must stop, requeue and resume the training. Once it has
# gone on past the point where the limit stopped it, the (endless) run is cancelled.
tl_stop_epoch() { # the epoch during which the first warning stopped training (0: not yet)
    sed -n 's/^gcn-train: stopped at epoch \([0-9]*\).*/\1/p' "$W/logs/nextgnn-train-$tl_train.out" 2>/dev/null |
        head -n1 | grep . || echo 0
}
tl_resumed_or_over() {
    local stop
    stop=$(tl_stop_epoch)
    over "$tl_train" && return 0
    [ "$stop" -gt 0 ] && grep -q 'resuming from' "$W/logs/nextgnn-train-$tl_train.out" &&
        [ "$(epochs_done "$W/model-timelimit")" -gt "$stop" ]
}
if [ -n "$tl_train" ] && wait_until "$TIMEOUT" tl_resumed_or_over && ! over "$tl_train"; then
    say "time-limit test: stopped in epoch $(tl_stop_epoch), resumed, now $(epochs_done "$W/model-timelimit") epochs: cancelling"
    scancel "$tl_train"
fi

wait_jobs "$TIMEOUT" "${chain[@]}" "${hash_jobs[@]}" "$rq_train" "$rq_predict" "$cancel_train" "$cancel_predict" \
    ${tl_train:+"$tl_train"}
if all_completed "${chain[@]}"; then
    ok "chain toymc -> voxel2graph -> split -> train -> predict completed"
else
    not_ok "chain toymc -> voxel2graph -> split -> train -> predict completed"
    show_log "$W"/logs/*
fi

# Outputs of the chain.
labels_ok() {
    local k
    for ((k = 0; k < FILES; k++)); do
        [ -s "$W/labels/nexus_label_${k}_mix.h5" ] || return 1
    done
}
check "toymc: one label file per array task ($FILES)" labels_ok

# count FILE: number of graphs in a stream, validated frame by frame.
count() { "$BIN/graphinfo" "$1" --check --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["graphs"])'; }
counts_add_up() {
    local parts=("$W"/graphs/part_[0-9][0-9][0-9][0-9][0-9].gs) p n sum=0 split_sum=0 s
    [ ${#parts[@]} -eq "$FILES" ] || { say "${#parts[@]} graph parts, expected $FILES"; return 1; }
    for p in "${parts[@]}"; do
        n=$(count "$p") || return 1
        [ "$n" -gt 0 ] || { say "$p holds no graph"; return 1; }
        sum=$((sum + n))
    done
    for s in train valid test; do
        n=$(count "$W/split/data_$s.gs") || return 1
        [ "$n" -gt 0 ] || { say "split $s is empty"; return 1; }
        split_sum=$((split_sum + n))
    done
    say "graphs: $sum from ${#parts[@]} voxel2graph tasks, $split_sum in train+valid+test, $((FILES * EVENTS)) events generated"
    # Events with no edge are skipped by voxel2graph; toy events have dozens of voxels.
    [ "$sum" -eq "$split_sum" ] && [ "$sum" -le $((FILES * EVENTS)) ] && [ "$sum" -ge $((FILES * EVENTS * 9 / 10)) ]
}
check "graph counts add up: voxel2graph tasks = train + valid + test" counts_add_up

# total FILE...: graphs in all FILEs together.
total() {
    local f n sum=0
    for f in "$@"; do
        n=$(count "$f") || return 1
        sum=$((sum + n))
    done
    echo "$sum"
}
hash_ok() {
    local H="$T/work-hash" s pieces all_pieces=0 splits=0 chain_total
    all_completed "${hash_jobs[@]}" || { show_log "$H"/logs/*; return 1; }
    chain_total=$(total "$W"/graphs/part_[0-9][0-9][0-9][0-9][0-9].gs) || return 1
    for s in train valid test; do
        pieces=("$H"/graphs/part_[0-9][0-9][0-9][0-9][0-9]_"$s".gs)
        [ ${#pieces[@]} -eq "$FILES" ] || { say "hash mode: ${#pieces[@]} $s pieces, expected $FILES"; return 1; }
        all_pieces=$((all_pieces + $(total "${pieces[@]}")))
        splits=$((splits + $(count "$H/split/data_$s.gs")))
    done
    say "hash mode: $all_pieces graphs in $((3 * FILES)) pieces, $splits in the three splits, $chain_total in global mode"
    [ "$all_pieces" -eq "$chain_total" ] && [ "$splits" -eq "$chain_total" ]
}
check "hash split mode: per-task pieces and concatenated splits hold every graph" hash_ok

# predictions_cover MODEL_DIR CSV: one row per test event, same (file_id, dataset_id) set.
predictions_cover() {
    "$BIN/graphinfo" "$W/split/data_test.gs" --head 1000000000 --json >"$T/test-ids.jsonl" || return 1
    python3 - "$T/test-ids.jsonl" "$1" <<'PY'
import csv, json, sys
test = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = sorted((g["fnum"], g["dataset_id"]) for g in test)
rows = list(csv.DictReader(open(sys.argv[2])))
got = sorted((int(r["file_id"]), int(r["dataset_id"])) for r in rows)
bad = [r for r in rows if abs(float(r["class_0"]) + float(r["class_1"]) - 1) > 1e-4]
print(f"slurm-test: {len(rows)} predictions for {len(want)} test events", file=sys.stderr)
sys.exit(0 if got == want and want and not bad else 1)
PY
}
check "predictions: one row per test event, probabilities sum to 1" predictions_cover "$W/preds.csv"
trained_ok() {
    [ "$(epochs_done "$W/model")" -eq "$EPOCHS" ] && [ -s "$W/model/best.ckpt" ] && [ -s "$W/model/last.ckpt" ]
}
check "train: metrics.csv has $EPOCHS epochs, best.ckpt and last.ckpt written" trained_ok

# Requeue and resume.
rq_ok() {
    local restarts log="$W/logs/nextgnn-train-$rq_train.out"
    restarts=$(field "$rq_train" Restarts)
    say "requeue test: job $rq_train $(state "$rq_train"), restarts $restarts, $(epochs_done "$W/model-requeue") epochs"
    all_completed "$rq_train" "$rq_predict" || { show_log "$log"; return 1; }
    [ "$restarts" = 1 ] || return 1
    if ! grep -q 'got USR1' "$log" || ! grep -q 'requeueing job' "$log" || ! grep -q 'resuming from' "$log"; then
        show_log "$log"
        return 1
    fi
    epochs_once "$W/model-requeue" "$LONG_EPOCHS" && predictions_cover "$W/preds-requeue.csv"
}
check "requeue: USR1 -> checkpoint -> requeued -> resumed from last.ckpt -> $LONG_EPOCHS epochs" rq_ok

# Cancel, then resume by resubmitting.
cancelled_ok() {
    local n
    [ "$(state "$cancel_train")" = CANCELLED ] || return 1
    [ "$(field "$cancel_train" Restarts)" = 0 ] || { say "cancelled job was requeued"; return 1; }
    n=$(epochs_done "$W/model-cancel")
    say "cancel test: job $cancel_train cancelled after $n epochs; predict job $(state "$cancel_predict")"
    [ -s "$W/model-cancel/last.ckpt" ] && [ "$n" -lt "$LONG_EPOCHS" ] && [ "$(state "$cancel_predict")" = CANCELLED ]
}
check "cancel: scancel leaves last.ckpt, no requeue, dependent predict cancelled" cancelled_ok
resumed_ok() {
    NEXTGNN_EPOCHS=$LONG_EPOCHS NEXTGNN_MODEL_DIR="$W/model-cancel" \
        NEXTGNN_PREDICTIONS="$W/preds-cancel.csv" submit_chain --from train || return 1
    local train=${JOB[train]} predict=${JOB[predict]}
    if ! wait_jobs "$TIMEOUT" "$train" "$predict" || ! all_completed "$train" "$predict"; then
        show_log "$W/logs/nextgnn-train-$train.out" "$W/logs/nextgnn-predict-$predict.out"
        return 1
    fi
    grep -q 'resuming from' "$W/logs/nextgnn-train-$train.out" &&
        epochs_once "$W/model-cancel" "$LONG_EPOCHS" && predictions_cover "$W/preds-cancel.csv"
}
check "resume: submit.sh --from train continues the cancelled run to $LONG_EPOCHS epochs" resumed_ok
timelimit_ok() {
    local log="$W/logs/nextgnn-train-$tl_train.out" restarts stop n
    [ -n "$tl_train" ] || return 1
    restarts=$(field "$tl_train" Restarts)
    stop=$(tl_stop_epoch)
    n=$(epochs_done "$W/model-timelimit")
    say "time-limit test: job $tl_train $(state "$tl_train"), $restarts requeues, stopped in epoch $stop, $n epochs"
    if [ "$restarts" -lt 1 ] || [ "$stop" -lt 1 ] || [ "$n" -le "$stop" ] || ! grep -q 'got USR1' "$log" ||
        ! grep -q 'requeueing job' "$log" || ! grep -q 'resuming from' "$log" ||
        ! epochs_once "$W/model-timelimit" "$n"; then
        show_log "$log"
        return 1
    fi
}
check "time limit: --time=1 warns, training checkpoints, requeues and resumes with no epoch lost" timelimit_ok
# Same data and seed, stopped at different points: an exact resume gives identical curves.
check "the requeued and the cancelled-then-resumed runs have identical training curves" \
    same_curves "$W/model-requeue" "$W/model-cancel"

finished=1
