#!/usr/bin/env bash
# clcnn-train under mpirun, on small synthetic IDX data written here.
#
# Mode `train` (labels unit, mpi):
# - 2 ranks x 16 with --sync-bn train the model of 1 process x 32: the same
#   train loss and test accuracy (sharded evaluation, summed) to rounding;
# - likewise with --augment (crops and flips keyed by the global sample);
# - rank 0 alone prints and saves: one "saved the model" line, one
#   checkpoint and no temporary file left; the checkpoint loads
#   (--eval-only in one process gives the 2-rank run's accuracy);
# - --resume takes a checkpoint of another rank count: 2 ranks (over TCP
#   only, --mca btl tcp,self) resume the 1-process checkpoint and 1 process
#   the 2-rank one, and both train the same second epoch as 1 process
#   resuming its own;
# - CLCNN_DEVICE with a comma-separated list gives each rank its entry.
# Mode `faults` (label mpi): a rank that fails makes the job stop within
# 60 s with a message naming it: rank 1 with no device, rank 1 stopped
# (SIGSTOP: the others' timeout names it), rank 1 killed (mpirun names it).
#
# Usage: test_train_ranks.sh train|faults CLCNN_TRAIN WORK_DIR MPIEXEC [ARGS...]
set -uo pipefail
export LC_ALL=C

if [[ $# -lt 4 ]]; then
    echo "usage: $0 train|faults CLCNN_TRAIN WORK_DIR MPIEXEC [ARGS...]" >&2
    exit 2
fi
mode=$1
train=$2
work=$3
shift 3
launcher=("$@")
rm -rf "$work"
mkdir -p "$work" || exit 1
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# ------------------------------------------------------------------- data

byte() { printf "\\x$(printf %02x $(($1 & 255)))"; }
be32() { byte $(($1 >> 24)); byte $(($1 >> 16)); byte $(($1 >> 8)); byte "$1"; }

# write_split DIR PREFIX COUNT: random pixels, labels i % 10 (pixels of
# class c brighter by c so that there is something to learn).
write_split() {
    { printf '\x00\x00\x08\x03'; be32 "$3"; be32 28; be32 28
      for ((i = 0; i < $3; i++)); do
          head -c 784 /dev/urandom | tr '\200-\377' "\\$(printf %03o $((128 + 12 * (i % 10))))"
      done; } >"$1/$2-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01'; be32 "$3"
      for ((i = 0; i < $3; i++)); do byte $((i % 10)); done; } >"$1/$2-labels-idx1-ubyte"
}

data="$work/data"
mkdir -p "$data"
write_split "$data" train 192
write_split "$data" t10k 70

common=(--data "$data" --batch 32 --lr 0.02 --seed 3)

# field LOG NAME: the number after NAME in the epoch summary line.
field() {
    grep -E '^epoch [0-9]+/[0-9]+:' "$1" | tail -n 1 | sed -E "s/.*$2 ([0-9.]+).*/\\1/"
}

# close A B TOLERANCE: |A - B| <= TOLERANCE.
close() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# ------------------------------------------------------------------ train

run_train_mode() {
    cd "$work" || exit 1
    "$train" "${common[@]}" --epochs 1 --save one.safetensors >one.log 2>&1 ||
        { cat one.log; fail "1 process: status $?"; }
    "${launcher[@]}" "$train" "${common[@]}" --epochs 1 --sync-bn --save two.safetensors \
        >two.log 2>&1 || { cat two.log; fail "2 ranks: status $?"; }
    grep -q "data-parallel on 2 ranks: global batch 32 (16 per rank), batch norm across ranks" \
        two.log || { cat two.log; fail "2 ranks: no data-parallel note"; }
    local loss1 loss2 acc1 acc2
    loss1=$(field one.log "train loss")
    loss2=$(field two.log "train loss")
    acc1=$(field one.log "test accuracy")
    acc2=$(field two.log "test accuracy")
    echo "-- 1 process: train loss $loss1, test accuracy $acc1 %"
    echo "-- 2 ranks:   train loss $loss2, test accuracy $acc2 %"
    close "$loss1" "$loss2" 0.002 || fail "train loss $loss2 on 2 ranks, $loss1 on 1"
    close "$acc1" "$acc2" 1.5 || fail "test accuracy $acc2 % on 2 ranks, $acc1 % on 1"

    # --augment: each sample's crop and flip are keyed by its position in the
    # epoch's order over the global batches, so 2 ranks augment as 1 process.
    "$train" "${common[@]}" --epochs 1 --augment --save aug1.safetensors >aug1.log 2>&1 ||
        { cat aug1.log; fail "1 process --augment: status $?"; }
    "${launcher[@]}" "$train" "${common[@]}" --epochs 1 --augment --sync-bn \
        --save aug2.safetensors >aug2.log 2>&1 || { cat aug2.log; fail "2 ranks --augment: status $?"; }
    echo "-- --augment: train loss $(field aug1.log "train loss") on 1 process," \
        "$(field aug2.log "train loss") on 2 ranks"
    close "$(field aug1.log "train loss")" "$(field aug2.log "train loss")" 0.002 ||
        fail "--augment: train loss $(field aug2.log "train loss") on 2 ranks," \
            "$(field aug1.log "train loss") on 1"
    # Rank 0 alone prints and saves.
    [[ $(grep -c "saved the model" two.log) -eq 1 ]] || { cat two.log; fail "not one save message"; }
    [[ $(grep -c '^epoch 1/1:' two.log) -eq 1 ]] || fail "the summary printed more than once"
    [[ -s two.safetensors && -s two.safetensors.optim ]] || fail "no checkpoint from 2 ranks"
    ! compgen -G "two.safetensors*.tmp-*" >/dev/null || fail "a temporary file was left"
    "$train" --data "$data" --eval-only two.safetensors >eval.log 2>&1 ||
        { cat eval.log; fail "the 2-rank checkpoint does not load"; }
    local acc_eval
    acc_eval=$(grep -Eo 'test accuracy [0-9.]+' eval.log | head -n 1 | awk '{ print $3 }')
    close "$acc_eval" "$acc2" 0.01 || fail "--eval-only gives $acc_eval %, the run $acc2 %"

    # --resume with another rank count: the same second epoch every way.
    cp one.safetensors base.safetensors
    cp one.safetensors.optim base.safetensors.optim
    "$train" "${common[@]}" --epochs 2 --resume base.safetensors --save r11.safetensors \
        >r11.log 2>&1 || { cat r11.log; fail "1 process resuming its own: status $?"; }
    "${launcher[@]}" --mca btl tcp,self "$train" "${common[@]}" --epochs 2 --sync-bn \
        --resume base.safetensors --save r12.safetensors >r12.log 2>&1 ||
        { cat r12.log; fail "2 ranks (TCP) resuming 1 process: status $?"; }
    grep -q "resuming base.safetensors at epoch 2 of 2" r12.log || fail "2 ranks did not resume"
    local a11 a12
    a11=$(field r11.log "test accuracy")
    a12=$(field r12.log "test accuracy")
    echo "-- epoch 2 resumed: 1 process $a11 %, 2 ranks over TCP $a12 %"
    close "$(field r11.log "train loss")" "$(field r12.log "train loss")" 0.002 ||
        fail "resumed on 2 ranks: train loss differs"
    close "$a11" "$a12" 1.5 || fail "resumed on 2 ranks: $a12 %, on 1: $a11 %"
    "$train" "${common[@]}" --epochs 2 --resume two.safetensors --save r21.safetensors \
        >r21.log 2>&1 || { cat r21.log; fail "1 process resuming 2 ranks: status $?"; }
    grep -q "resuming two.safetensors at epoch 2 of 2" r21.log || fail "1 process did not resume"

    # A device list: entry r for local rank r.
    CLCNN_DEVICE="cpu,cpu" "${launcher[@]}" "$train" "${common[@]}" --epochs 1 --train-limit 64 \
        --save list.safetensors >list.log 2>&1 || { cat list.log; fail "a device list: status $?"; }
}

# ----------------------------------------------------------------- faults

# job NAME PATTERN LOG: the job in the background must end with a non-zero
# status within 60 s of $start and print a line matching PATTERN.
check_job() {
    local name=$1 pattern=$2 log=$3 rc=$4 elapsed
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    [[ $rc -ne 124 ]] || { cat "$log"; fail "$name: the job hung"; return; }
    [[ $rc -ne 0 ]] || { cat "$log"; fail "$name: the job ended with status 0"; return; }
    grep -Eq "$pattern" "$log" || { cat "$log"; fail "$name: no line matches /$pattern/"; return; }
    awk -v e="$elapsed" 'BEGIN { exit !(e < 60) }' || fail "$name: took $elapsed s (limit 60)"
    echo "-- $name: ended in $elapsed s (status $rc): $(grep -Eo "$pattern" "$log" | head -n 1)"
}

# The PID of rank 1 of the job that saves to $1, once training runs. Only
# that job's processes: ctest runs the train mode beside this one, with
# ranks of the same program (signalling one of those hung this job and
# killed that one).
rank1_pid() {
    local pid
    for pid in $(pgrep -f -- "--save $1" || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
            echo "$pid"
            return
        fi
    done
}

# signal_job NAME SIGNAL PATTERN: starts a long job, sends rank 1 SIGNAL
# once rank 0 has printed progress.
signal_job() {
    local name=$1 signal=$2 pattern=$3 log="$work/$1.log" rc=0 pid=""
    timeout 150 "${launcher[@]}" "$train" "${common[@]}" --epochs 1000 --save "$work/$1.safetensors" \
        >"$log" 2>&1 &
    local job=$!
    local deadline=$((SECONDS + 120))
    until grep -q "loss" "$log" 2>/dev/null && pid=$(rank1_pid "$work/$1.safetensors") &&
        [[ -n $pid ]]; do
        ((SECONDS < deadline)) && kill -0 "$job" 2>/dev/null ||
            { cat "$log"; fail "$name: training did not start"; kill "$job"; return; }
        sleep 0.2
    done
    start=$(date +%s.%N)
    kill "-$signal" "$pid"
    wait "$job" || rc=$?
    kill -CONT "$pid" 2>/dev/null || true
    check_job "$name" "$pattern" "$log" "$rc"
}

run_faults_mode() {
    start=$(date +%s.%N)
    local rc=0
    CLCNN_DEVICE="cpu,no-such-device" timeout 150 "${launcher[@]}" "$train" "${common[@]}" \
        --epochs 1 --save "$work/nodevice.safetensors" >"$work/nodevice.log" 2>&1 || rc=$?
    check_job "no device on rank 1" \
        "clcnn-train \(rank 1 of 2\): no device \(no-such-device\)" "$work/nodevice.log" "$rc"
    signal_job stopped STOP \
        "clcnn-train \(rank 0 of 2\): [a-z -]+: CLCNN_ERROR_PEER_FAILED: .*rank 1 did not (answer within 3 s: hung or killed|reach the gradient exchange)"
    signal_job killed KILL "process rank 1 with PID [0-9]+ on node .* exited on signal 9"
}

case $mode in
train) run_train_mode ;;
faults) run_faults_mode ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
if [[ $failures -ne 0 ]]; then
    echo "test_train_ranks $mode: $failures failure(s)" >&2
    exit 1
fi
echo "test_train_ranks $mode: OK"
