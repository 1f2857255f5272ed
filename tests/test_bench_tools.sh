#!/usr/bin/env bash
# clcnn-chart and clcnn-bench --csv, end to end:
# - clcnn-chart draws tests/data/bench_sample.json (two devices, four
#   benchmarks with a reference, three without) as well-formed SVG with one
#   bar per device and benchmark, names escaped;
# - invalid inputs (broken JSON, wrong shapes, a missing file) exit 1 with a
#   "clcnn-chart:" message, never a crash;
# - clcnn-bench --csv --filter launch prints a header and one row per device,
#   each with the header's column count;
# - the command line of both: --name=VALUE, unknown options, --version, an
#   empty --filter refused;
# - clcnn-bench compares with its reference one way, as a speed-up (above 1:
#   faster), and gives the reference in the row's own unit: in the table, the
#   CSV and the JSON (on the CPU device, which has reference figures);
# - a device older than OpenCL 1.2 (Mesa's Clover with LP_CL=1, where
#   mesa-opencl-icd is installed): --list marks it unusable with the reason,
#   --device refuses it with the library's message, --all-devices passes
#   over it;
# - each device says which clock timed it: POCL's profiling timestamps
#   ("timestamps": "device"), and where rusticl is enabled
#   (RUSTICL_ENABLE=llvmpipe) its placeholder timestamps are refused: host
#   timing, and a copy speed a machine can have.
#
# Usage: test_bench_tools.sh CLCNN_CHART CLCNN_BENCH FIXTURE WORK_DIR
set -u

if [ $# -ne 4 ]; then
  echo "usage: $0 CLCNN_CHART CLCNN_BENCH FIXTURE WORK_DIR" >&2
  exit 2
fi
chart=$1
bench=$2
fixture=$3
work=$4
mkdir -p "$work" || exit 1
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Well-formed XML, checked by a small tag matcher (no tool needed), and by
# xmllint as well when it is installed.
check_xml() {
  awk '
    BEGIN { RS = "\001" }
    {
      text = $0; depth = 0; roots = 0
      while (match(text, /<[^>]*>/)) {
        tag = substr(text, RSTART, RLENGTH); text = substr(text, RSTART + RLENGTH)
        if (tag ~ /^<[?!]/) continue
        if (tag ~ /^<\//) {
          name = substr(tag, 3); sub(/[ \t\r\n>].*/, "", name)
          if (depth == 0 || stack[depth] != name) { print "mismatched " tag; exit 1 }
          depth--; continue
        }
        name = substr(tag, 2); sub(/[ \t\r\n\/>].*/, "", name)
        if (depth == 0) roots++
        if (tag !~ /\/>$/) stack[++depth] = name
      }
      if (depth != 0 || roots != 1) { print "unclosed tags or not one root"; exit 1 }
      if (text ~ /[<>]/) { print "stray < or > in text"; exit 1 }
    }' "$1" || return 1
  if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$1" || return 1
  fi
  # A bare & that starts no entity is not XML.
  if grep -E '&([^a-z#]|[a-z]+[^a-z;])' "$1" >/dev/null; then
    echo "unescaped &"
    return 1
  fi
  return 0
}

# ------------------------------------------------------------------ chart
svg=$work/sample.svg
if ! "$chart" "$fixture" >"$svg" 2>"$work/chart.err"; then
  fail "clcnn-chart on the fixture failed: $(cat "$work/chart.err")"
else
  check_xml "$svg" || fail "the SVG is not well-formed"
  grep -q '<svg xmlns="http://www.w3.org/2000/svg" version="1.1"' "$svg" ||
    fail "no SVG 1.1 root element"
  grep -qi '<script' "$svg" && fail "the SVG holds a script"
  bars=$(grep -c 'class="bar"' "$svg")
  [ "$bars" -eq 8 ] || fail "expected 8 bars (2 devices x 4 benchmarks), found $bars"
  for name in gemm_1024 conv_a_fwd bn_train_fwd_bwd net_fmnist_train_step; do
    count=$(grep -c "class=\"bar\".*<title>$name on " "$svg")
    [ "$count" -eq 2 ] || fail "$name: expected a bar per device, found $count"
    grep -q "class=\"benchmark\"[^>]*>$name</text>" "$svg" || fail "$name: no label"
  done
  for name in launch copy peak_fma; do
    grep -q ">$name<" "$svg" && fail "$name has no reference but is drawn"
  done
  # The second device's name, escaped, in the title line and the legend.
  grep -q 'Sample GPU &lt;A&amp;B&gt; &quot;quoted&quot;, &apos;x&apos; (gpu)' "$svg" ||
    fail "the device name is missing or not escaped"
  grep -q 'pthread-skylake-avx512-AMD EPYC (cpu)' "$svg" || fail "the CPU device is missing"
  # gemm_1024 on the CPU: 107.4 / 204 gflops; bn on the GPU: 0.46 / 0.23 ms.
  grep -q '<title>gemm_1024 on pthread-skylake-avx512-AMD EPYC (cpu): 0.526' "$svg" ||
    fail "gemm_1024's ratio is not 0.526"
  grep -q '<title>bn_train_fwd_bwd on Sample GPU [^<]*: 2×' "$svg" ||
    fail "bn_train_fwd_bwd's ratio on the GPU is not 2"
  grep -q 'stroke-width="1.5"' "$svg" || fail "no line at 1"
fi

# Two documents: their devices side by side (4 devices, 16 bars).
if "$chart" "$fixture" - <"$fixture" >"$work/two.svg" 2>"$work/chart.err"; then
  bars=$(grep -c 'class="bar"' "$work/two.svg")
  [ "$bars" -eq 16 ] || fail "two documents: expected 16 bars, found $bars"
  grep -q '(cpu) #2' "$work/two.svg" || fail "two documents: the repeated device is not told apart"
else
  fail "clcnn-chart on two documents failed: $(cat "$work/chart.err")"
fi

# Invalid inputs: exit status 1 and a message naming the problem.
expect_error() { # DESCRIPTION EXPECTED_MESSAGE INPUT_TEXT
  printf '%s' "$3" >"$work/bad.json"
  "$chart" "$work/bad.json" >"$work/bad.svg" 2>"$work/bad.err"
  local status=$?
  if [ "$status" -ne 1 ]; then
    fail "$1: exit status $status, expected 1"
  elif ! grep -q "^clcnn-chart: .*$2" "$work/bad.err"; then
    fail "$1: message '$(cat "$work/bad.err")' lacks '$2'"
  fi
}
expect_error "truncated JSON" "invalid JSON" '{"devices": [{"device": {"name": "x"}, "results": ['
expect_error "not JSON" "invalid JSON" 'devices'
expect_error "empty input" "invalid JSON" ''
expect_error "an array" 'no "devices" array' '[1, 2]'
expect_error "devices not an array" 'no "devices" array' '{"devices": {"name": "x"}}'
expect_error "device without name" '"name" string' '{"devices": [{"device": {}, "results": []}]}'
expect_error "results not an array" '"results" array' '{"devices": [{"device": {"name": "x"}, "results": 5}]}'
expect_error "ms a string" '"ms" must be a positive number' \
  '{"devices": [{"device": {"name": "x"}, "results": [{"name": "a", "ms": "1", "ref_ms": 2}]}]}'
expect_error "negative reference" '"ref_ms" must be a positive number' \
  '{"devices": [{"device": {"name": "x"}, "results": [{"name": "a", "ms": 1, "ref_ms": -2}]}]}'
expect_error "gflops missing" 'needs "gflops"' \
  '{"devices": [{"device": {"name": "x"}, "results": [{"name": "a", "ms": 1, "ref_gflops": 2}]}]}'
expect_error "absurd ratio" 'outside' \
  '{"devices": [{"device": {"name": "x"}, "results": [{"name": "a", "ms": 1e-300, "ref_ms": 1e300}]}]}'
expect_error "nothing referenced" 'no result with a reference' \
  '{"devices": [{"device": {"name": "x"}, "results": [{"name": "launch", "ms": 1}]}]}'
"$chart" "$work/no-such-file.json" >/dev/null 2>"$work/bad.err"
status=$?
[ "$status" -eq 1 ] && grep -q "^clcnn-chart: .*cannot open" "$work/bad.err" ||
  fail "missing file: exit status $status, message '$(cat "$work/bad.err")'"
"$chart" --help | grep -q 'clcnn-bench --json > run.json' || fail "--help lacks the two-step example"
"$chart" --bogus >/dev/null 2>"$work/bad.err"
[ $? -eq 2 ] && grep -q "unknown option --bogus" "$work/bad.err" ||
  fail "an unknown option is not a usage error (2): $(cat "$work/bad.err")"
"$chart" --version | grep -q '^clcnn-chart (libclcnn) [0-9]' || fail "clcnn-chart --version"
if "$chart" --output="$work/eq.svg" --title="T=1" "$fixture" 2>"$work/chart.err"; then
  grep -q '>T=1<' "$work/eq.svg" || fail "--title=T=1 is not the title"
else
  fail "--output=FILE --title=TEXT failed: $(cat "$work/chart.err")"
fi

# -------------------------------------------------------------------- CSV
csv=$work/launch.csv
if ! "$bench" --csv --filter launch --repeats 3 >"$csv" 2>"$work/bench.err"; then
  fail "clcnn-bench --csv failed: $(cat "$work/bench.err")"
else
  # Fields per line, RFC 4180 quoting (commas inside quotes do not count).
  awk '
    function fields(line,    i, c, quoted, n) {
      n = 1; quoted = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (c == "\"") quoted = !quoted
        else if (c == "," && !quoted) n++
      }
      return quoted ? -1 : n
    }
    NR == 1 { want = fields($0); header = $0; next }
    { if (fields($0) != want) { print "line " NR ": " fields($0) " fields, header has " want; bad = 1 } }
    END {
      if (header !~ /^device_id,device,device_type,platform,benchmark,ms,value,unit,/) { print "bad header: " header; bad = 1 }
      if (header !~ /,fraction_of_peak,/) { print "no fraction_of_peak column"; bad = 1 }
      if (header !~ /,timestamps,extras$/) { print "no timestamps column"; bad = 1 }
      if (NR < 2) { print "no rows"; bad = 1 }
      exit bad
    }' "$csv" || fail "CSV shape: $(cat "$csv")"
  rows=$(tail -n +2 "$csv" | grep -c ',launch,[0-9.e+-]*,[0-9.e+-]*,us,3,')
  [ "$rows" -ge 1 ] || fail "no launch row with unit us and 3 samples: $(cat "$csv")"
fi
"$bench" --csv --json >/dev/null 2>&1
[ $? -eq 2 ] || fail "--csv with --json is not a usage error (2)"

# ------------------------------------------------------ bench command line
expect_bench_usage_error() { # DESCRIPTION EXPECTED_MESSAGE ARGS...
  local what=$1 message=$2
  shift 2
  "$bench" "$@" >"$work/usage.out" 2>"$work/usage.err"
  local status=$?
  if [ "$status" -ne 2 ]; then
    fail "clcnn-bench $what: exit status $status, expected 2"
  elif ! grep -qF -- "$message" "$work/usage.err"; then
    fail "clcnn-bench $what: message '$(cat "$work/usage.err")' lacks '$message'"
  fi
}
expect_bench_usage_error "empty --filter" "--filter needs a pattern" --filter ''
expect_bench_usage_error "empty --filter=" "--filter needs a pattern" --filter=
expect_bench_usage_error "empty pattern in --filter" "a pattern between commas is empty" --filter 'launch,'
expect_bench_usage_error "unknown option" "unknown option --bogus" --bogus=1
expect_bench_usage_error "flag with a value" "--csv takes no value" --csv=1
expect_bench_usage_error "bad --repeats" 'invalid value "0" for --repeats' --repeats=0
"$bench" --version | grep -q '^clcnn-bench (libclcnn) [0-9]' || fail "clcnn-bench --version"

# ------------------------------------------- speed-up against the reference
# Checks a row: speedup = ref / value for a time, value / ref for a
# throughput, within the rounding of the printed figures.
speedup_awk='
  function check(name, value, ref, unit, speedup,    expected) {
    if (unit != "ms" && unit != "us" && unit != "gbps" && unit != "gflops") {
      print name ": unit " unit; bad = 1; return
    }
    expected = (unit == "ms" || unit == "us") ? ref / value : value / ref
    if (speedup < expected * 0.98 || speedup > expected * 1.02) {
      print name ": speedup " speedup ", expected " expected " from " value " and ref " ref " " unit
      bad = 1
    }
    checked++
  }'
pair=bn_train_fwd_bwd,gemm_1024
if "$bench" --device cpu --filter "$pair" --repeats 3 >"$work/table.txt" 2>"$work/bench.err"; then
  grep -q "x_vs_ref" "$work/table.txt" && fail "the table still has x_vs_ref"
  awk "$speedup_awk"'
    $1 == "name" { header = ($2 == "median" && $3 == "ref" && $4 == "unit" && $5 == "speedup"); next }
    header && NF >= 5 && $3 != "-" { check($1, $2, $3, $4, $5) }
    END { if (!header || checked != 2) { print "header " header ", rows " checked; bad = 1 }; exit bad }
  ' "$work/table.txt" || fail "table: $(cat "$work/table.txt")"
else
  fail "clcnn-bench --device cpu --filter $pair failed: $(cat "$work/bench.err")"
fi
if "$bench" --device cpu --filter "$pair" --repeats 3 --csv >"$work/ref.csv" 2>"$work/bench.err"; then
  awk -F, "$speedup_awk"'
    NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i; next }
    $(column["ref_value"]) != "" {
      check($(column["benchmark"]), $(column["value"]), $(column["ref_value"]),
            $(column["unit"]), $(column["speedup_vs_ref"]))
    }
    END { if (checked != 2 || ("x_vs_ref" in column) || ("ref_unit" in column)) { print "rows " checked; bad = 1 }; exit bad }
  ' "$work/ref.csv" || fail "CSV: $(cat "$work/ref.csv")"
else
  fail "clcnn-bench --csv --device cpu failed: $(cat "$work/bench.err")"
fi
if "$bench" --device cpu --filter bn_train_fwd_bwd --repeats 3 --json >"$work/ref.json" 2>"$work/bench.err"; then
  grep -q '"speedup_vs_ref": [0-9]' "$work/ref.json" || fail "JSON: no speedup_vs_ref"
  grep -q '"x_vs_ref' "$work/ref.json" && fail "JSON: x_vs_ref is still there"
  grep -q '"ref_ms": 35.1,' "$work/ref.json" || fail "JSON: the reference 35.1 ms is not written as 35.1"
else
  fail "clcnn-bench --json --device cpu failed: $(cat "$work/bench.err")"
fi

# ------------------------------------------ devices libclcnn cannot use
if [ -r /etc/OpenCL/vendors/mesa.icd ]; then
  if LP_CL=1 "$bench" --list >"$work/list.txt" 2>"$work/bench.err"; then
    grep -q '^  usable  *yes$' "$work/list.txt" || fail "--list: no usable device: $(cat "$work/list.txt")"
    old_id=$(awk '/^[0-9]+:[0-9]+ / { id = $1 } /^  platform  *Clover / { print id }' "$work/list.txt")
    [ -n "$old_id" ] || fail "--list with LP_CL=1 shows no Clover device: $(cat "$work/list.txt")"
    grep -q '^  usable  *no, it supports OpenCL 1.1 (OpenCL C 1.1); libclcnn needs 1.2$' \
      "$work/list.txt" || fail "--list does not mark Clover unusable: $(cat "$work/list.txt")"
  else
    fail "clcnn-bench --list with LP_CL=1 failed: $(cat "$work/bench.err")"
    old_id=
  fi
  if [ -n "$old_id" ]; then
    LP_CL=1 "$bench" --device "$old_id" --filter launch --repeats 3 >/dev/null 2>"$work/old.err"
    status=$?
    [ "$status" -eq 1 ] || fail "--device $old_id (Clover): exit status $status, expected 1"
    grep -qF "CLCNN_ERROR_DEVICE_UNSUPPORTED: device $old_id (llvmpipe" "$work/old.err" ||
      fail "--device $old_id (Clover): $(cat "$work/old.err")"
    grep -qi "build log" "$work/old.err" && fail "--device $old_id (Clover) printed a build log"
    if LP_CL=1 "$bench" --all-devices --filter launch --repeats 3 --csv >"$work/all.csv" \
      2>"$work/bench.err"; then
      grep -q "^$old_id," "$work/all.csv" && fail "--all-devices ran on Clover: $(cat "$work/all.csv")"
      [ "$(grep -c ',launch,' "$work/all.csv")" -ge 1 ] || fail "--all-devices: no row: $(cat "$work/all.csv")"
    else
      fail "clcnn-bench --all-devices with LP_CL=1 failed: $(cat "$work/bench.err")"
    fi
  fi
fi

# ------------------------------------------------- which clock timed a device
# Prints every "gbps" figure of a --json document, one a line.
gbps_values() {
  grep -o '"gbps": [0-9.e+-]*' "$1" | sed 's/.*: //'
}
if "$bench" --device pocl --filter copy --repeats 3 --json >"$work/pocl.json" 2>"$work/bench.err"; then
  grep -q '"timestamps": "device"' "$work/pocl.json" || fail "POCL: timestamps is not \"device\""
  grep -q '"device_timed": true' "$work/pocl.json" || fail "POCL: copy is not device-timed"
  [ "$(gbps_values "$work/pocl.json" | wc -l)" -eq 2 ] || fail "POCL: no copy and copy_kernel"
else
  fail "clcnn-bench --device pocl --filter copy --json failed: $(cat "$work/bench.err")"
fi
if "$bench" --list | grep -q '^[0-9]*:[0-9]*  llvmpipe'; then
  # Only `copy` ('[c]opy' is a glob for that name alone): llvmpipe's
  # copy_kernel takes seconds a sample under the sanitizers.
  if "$bench" --device llvmpipe --filter '[c]opy' --repeats 3 --json >"$work/rusticl.json" \
    2>"$work/bench.err"; then
    grep -q '"timestamps": "host (device timestamps implausible)"' "$work/rusticl.json" ||
      fail "rusticl: the JSON does not say host timing"
    grep -q '"device_timed": true' "$work/rusticl.json" && fail "rusticl: a result is device-timed"
    value=$(gbps_values "$work/rusticl.json")
    awk -v v="$value" 'BEGIN { exit !(v > 0 && v < 10000) }' ||
      fail "rusticl: copy at '$value' GB/s is no copy speed"
    echo "rusticl: host-timed copy at $value GB/s"
  else
    fail "clcnn-bench --device llvmpipe --filter '[c]opy' --json failed: $(cat "$work/bench.err")"
  fi
  "$bench" --device llvmpipe --filter '[c]opy' --repeats 3 >"$work/rusticl.txt" 2>"$work/bench.err" &&
    grep -q 'timing: HOST wall time' "$work/rusticl.txt" ||
    fail "rusticl: the table does not say host timing: $(cat "$work/rusticl.txt" "$work/bench.err")"
else
  echo "rusticl's llvmpipe is not enabled (RUSTICL_ENABLE=llvmpipe): its timing is not checked"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
