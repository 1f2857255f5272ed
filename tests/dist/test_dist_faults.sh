#!/usr/bin/env bash
# Faults in a two-rank job (tests/dist/dist_fault.c): a rank that fails --
# reports an error, exits, is killed or hangs -- makes the other stop within
# 60 s with a message naming it, and nothing hangs; a checkpoint is never
# half-written by a job that dies while saving.
#
# Where mpirun itself ends the job (a rank exits with an error or is
# killed: Open MPI's default, orte_abort_on_non_zero_status) its message
# names the rank; with that turned off, and for a rank that hangs, the
# library's own timeout (5 s here) stops the others and names it.
#
# Usage: test_dist_faults.sh WORK_DIR DIST_FAULT MPIEXEC [LAUNCHER ARGS...]
# (the launcher and its arguments up to the program, e.g. mpiexec -n 2
# --oversubscribe). Open MPI only: the messages checked are Open MPI's.
set -euo pipefail
export LC_ALL=C

if [[ $# -lt 3 ]]; then
    echo "usage: $0 WORK_DIR DIST_FAULT MPIEXEC [LAUNCHER ARGS...]" >&2
    exit 2
fi
work=$1
fault=$2
shift 2
launcher=("$@")
rm -rf "$work"
mkdir -p "$work"
limit=60

fail() {
    echo "test_dist_faults: FAIL: $*" >&2
    exit 1
}

# job NAME PATTERN [MPIRUN OPTIONS...] -- PROGRAM ARGS: runs the job; it must
# end with a non-zero status within $limit seconds and print a line
# matching PATTERN (extended regex).
job() {
    local name=$1 pattern=$2 log="$work/$1.log" rc=0 start elapsed
    shift 2
    local options=()
    while [[ $1 != -- ]]; do
        options+=("$1")
        shift
    done
    shift
    start=$(date +%s.%N)
    timeout 150 "${launcher[@]}" "${options[@]}" "$fault" "$@" >"$log" 2>&1 || rc=$?
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    [[ $rc -ne 124 ]] || { cat "$log"; fail "$name: the job hung (stopped by timeout 150)"; }
    [[ $rc -ne 0 ]] || { cat "$log"; fail "$name: the job ended with status 0"; }
    grep -Eq "$pattern" "$log" || { cat "$log"; fail "$name: no line matches /$pattern/"; }
    awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e < l) }' ||
        fail "$name: the job took $elapsed s (limit $limit)"
    echo "-- $name: ended in $elapsed s (status $rc): $(grep -Eo "$pattern" "$log" | head -n 1)"
}

no_runtime_abort=(--mca orte_abort_on_non_zero_status 0)
named_by_timeout="rank 0 stopped after [0-9.]+ s: CLCNN_ERROR_PEER_FAILED: clcnn_dist_allreduce_grads: rank 1 did not reach the gradient exchange of step 3 within 5 s"

job report "rank 0 stopped after [0-9.]+ s: CLCNN_ERROR_PEER_FAILED: clcnn_dist_allreduce_grads: rank 1 failed \(CLCNN_ERROR_IO\): simulated failure at step 3" \
    -- report 3 5
job exit "Process name: \[\[[0-9]+,[0-9]+\],1\]" -- exit 3 5
job exit-no-runtime-abort "$named_by_timeout" "${no_runtime_abort[@]}" -- exit 3 5
job kill "process rank 1 with PID [0-9]+ on node .* exited on signal 9" -- kill 3 5
job kill-no-runtime-abort "$named_by_timeout" "${no_runtime_abort[@]}" -- kill 3 5
job hang "$named_by_timeout" -- hang 3 5

# ---------------------------------------------------------------- checkpoints
# Rank 0 saves checkpoints over and over; once one exists, the test kills
# rank 0 (SIGKILL) while the next one is being written (its temporary file
# is there), and mpirun ends the job. The file at the path must be a whole
# checkpoint; the temporary file left beside it shows that the kill landed
# in the middle of a write (when the write won the race, try again).
path="$work/checkpoint.safetensors"
pid_file="$work/rank0.pid"
killed_mid_write=0
for attempt in $(seq 1 10); do
    rm -f "$path" "$path".tmp-* "$pid_file"
    "${launcher[@]}" "$fault" save "$path" "$pid_file" >"$work/save.log" 2>&1 &
    job_pid=$!
    deadline=$((SECONDS + 60))
    # The first checkpoint, then a write in progress.
    until [[ -e $path && -s $pid_file ]] && compgen -G "$path.tmp-*" >/dev/null; do
        ((SECONDS < deadline)) || { cat "$work/save.log"; fail "no checkpoint was written in 60 s"; }
        kill -0 "$job_pid" 2>/dev/null || { cat "$work/save.log"; fail "the saving job ended"; }
    done
    kill -KILL "$(cat "$pid_file")"
    wait "$job_pid" || true
    if compgen -G "$path.tmp-*" >/dev/null; then
        "$fault" check "$path" >"$work/check.log" 2>&1 || {
            cat "$work/check.log"
            fail "attempt $attempt: the job killed in the middle of a write left a broken checkpoint"
        }
        echo "-- checkpoint: killed in the middle of a write (attempt $attempt): $(cat "$work/check.log")"
        killed_mid_write=1
        break
    fi
done
[[ $killed_mid_write -eq 1 ]] || fail "the kill never landed in the middle of a write in 10 attempts"
echo "test_dist_faults: OK"
