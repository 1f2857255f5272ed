#!/usr/bin/env bash
# clcnn-bench's allreduce_* entries: under mpirun (2 ranks) both run across
# the ranks (ranks 2, a figure and the bare MPI_Allreduce's beside it, rank
# 0 alone printing); on one rank they report the local staging cost and say
# so. Speed is not asserted.
#
# Usage: test_bench_allreduce.sh CLCNN_BENCH MPIEXEC [ARGS...]
set -uo pipefail
bench=$1
shift
launcher=("$@")
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

out=$("${launcher[@]}" "$bench" --filter 'allreduce*' --repeats 3 --json 2>&1) ||
    { echo "$out"; fail "2 ranks: status $?"; }
for name in allreduce_seed allreduce_resnet8; do
    grep -q "\"name\": \"$name\"" <<<"$out" || fail "2 ranks: no $name"
done
[[ $(grep -c '"ranks": 2' <<<"$out") -eq 2 ]] || { echo "$out"; fail "2 ranks: not 2 results of 2 ranks"; }
[[ $(grep -c '"mpi_gbps"' <<<"$out") -eq 2 ]] || fail "2 ranks: no MPI_Allreduce figure"
[[ $(grep -c '"devices"' <<<"$out") -eq 1 ]] || fail "2 ranks: more than one rank printed"
grep -q '"bytes": 1687336' <<<"$out" || fail "the seed network's gradient is 1,687,336 bytes"
grep -q '"bytes": 1232296' <<<"$out" || fail "ResNet-8's gradient is 1,232,296 bytes"

one=$("$bench" --filter allreduce_seed --repeats 3 2>&1) || { echo "$one"; fail "1 rank: status $?"; }
grep -q 'ranks=1' <<<"$one" || fail "1 rank: no ranks=1"
grep -q 'note="1 rank: the gradients.* copy to the host and back, no all-reduce' <<<"$one" ||
    { echo "$one"; fail "1 rank: no note"; }

[[ $failures -eq 0 ]] && echo "test_bench_allreduce: OK"
exit $((failures != 0))
