#!/usr/bin/env bash
# Runs a test program under Oclgrind's simulated OpenCL device with data-race,
# uninitialised-value and API checks, and fails when the program fails or
# Oclgrind reported anything at all (in its log or, for API errors, on
# stderr).
#
# Usage: oclgrind_check.sh LOGFILE [OCLGRIND_OPTION...] -- COMMAND [ARG...]
#   e.g. oclgrind_check.sh race.log --max-wgsize 256 -- ./test_util_kernels
set -u

if [ $# -lt 3 ]; then
  echo "usage: $0 LOGFILE [OCLGRIND_OPTION...] -- COMMAND [ARG...]" >&2
  exit 2
fi
log=$1
shift
options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  options+=("$1")
  shift
done
if [ $# -lt 2 ]; then
  echo "$0: missing '-- COMMAND'" >&2
  exit 2
fi
shift # the "--"

oclgrind=${OCLGRIND:-oclgrind}
# Kernel diagnostics (races, out-of-bounds, uninitialised values) go to the
# log; API errors found by --check-api go to stderr, so keep that too.
errors="$log.stderr"
rm -f "$log" "$errors"
"$oclgrind" --data-races --uninitialized --check-api --log "$log" "${options[@]}" "$@" \
  2>"$errors"
status=$?
cat "$errors" >&2

if [ "$status" -ne 0 ]; then
  echo "oclgrind_check: '$*' failed under Oclgrind (exit status $status)" >&2
  if [ -s "$log" ]; then
    echo "--- Oclgrind log ($log) ---" >&2
    cat "$log" >&2
  fi
  exit 1
fi
if [ -s "$log" ] || grep -q '^Oclgrind - ' "$errors"; then
  echo "oclgrind_check: Oclgrind reported problems with '$*':" >&2
  cat "$log" >&2
  exit 1
fi
exit 0
