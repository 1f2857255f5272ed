#!/usr/bin/env bash
# One command for a machine with a GPU (or any set of OpenCL devices): the
# kernel tests on every OpenCL device, the cross-device test, clcnn-bench on
# every device, and, where PyTorch with CUDA is importable, compare.py; all
# of it written into one output folder with a summary line per device.
#
#   bash ci/gpu-check.sh [options] [OUTPUT_DIR]     (default gpu-check-<date>)
#
# It installs nothing and needs no network: the OpenCL loader and drivers
# must be set up already (OCL_ICD_VENDORS, LD_LIBRARY_PATH: see the README).
# It uses the build in build/ (or --build DIR), which may have been built on
# another machine and carried here: the tests run as plain programs, not
# through ctest, and find their data through CLCNN_TEST_DATA_DIR. Only when
# there is no build does it make one (cmake, Release, tests on); a build in
# place is brought up to date when cmake is there.
#
# Exit status: 0 when every step passed, 1 when one failed, 2 on a usage
# error. One failing device does not stop the others.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'EOF'
usage: bash ci/gpu-check.sh [options] [OUTPUT_DIR]
Runs on every OpenCL device (Oclgrind's simulator excepted): the kernel tests
(the ctest label "kernel", each test program with CLCNN_DEVICE=P:D), then once
the cross-device test, clcnn-bench on each device (--json), and
hosttools/pytorch/compare.py where /usr/bin/python3 imports torch with CUDA.
Writes everything into OUTPUT_DIR (default: gpu-check-<date>-<time>), with
summary.txt holding one line per device.

  --build DIR          the build directory (default: build/ in the repository)
  --devices REGEX      only devices whose "P:D name [platform]" matches (grep -E)
  --tests REGEX        only the kernel tests whose name matches (grep -E)
  --skip-tests         no per-device kernel tests
  --skip-cross         no cross-device test
  --skip-bench         no clcnn-bench (and no compare.py)
  --skip-compare       no compare.py
  --bench-filter P     clcnn-bench --filter P (e.g. 'copy,peak_fma,gemm_1024')
  --bench-repeats N    clcnn-bench --repeats N
  --bench-timeout S    seconds allowed to clcnn-bench per device (default 1800)
  -h, --help           this text
EOF
}

usage_error() {
  echo "gpu-check: $*" >&2
  echo "usage: bash ci/gpu-check.sh [options] [OUTPUT_DIR] (--help for more)" >&2
  exit 2
}

build=$repo/build
out=""
device_regex=""
test_regex=""
skip_tests=0
skip_cross=0
skip_bench=0
skip_compare=0
bench_filter=""
bench_repeats=""
bench_timeout=1800

while [ $# -gt 0 ]; do
  case $1 in
    --build|--devices|--tests|--bench-filter|--bench-repeats|--bench-timeout)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case $1 in
        --build) build=$2 ;;
        --devices) device_regex=$2 ;;
        --tests) test_regex=$2 ;;
        --bench-filter) bench_filter=$2 ;;
        --bench-repeats) bench_repeats=$2 ;;
        --bench-timeout) bench_timeout=$2 ;;
      esac
      shift 2 ;;
    --build=*) build=${1#*=}; shift ;;
    --devices=*) device_regex=${1#*=}; shift ;;
    --tests=*) test_regex=${1#*=}; shift ;;
    --bench-filter=*) bench_filter=${1#*=}; shift ;;
    --bench-repeats=*) bench_repeats=${1#*=}; shift ;;
    --bench-timeout=*) bench_timeout=${1#*=}; shift ;;
    --skip-tests) skip_tests=1; shift ;;
    --skip-cross) skip_cross=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    --skip-compare) skip_compare=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage_error "unknown option $1" ;;
    *)
      [ -z "$out" ] || usage_error "one output folder only (got $out and $1)"
      out=$1; shift ;;
  esac
done
case $bench_timeout in ''|*[!0-9]*) usage_error "--bench-timeout needs seconds" ;; esac
case $bench_repeats in *[!0-9]*) usage_error "--bench-repeats needs a number" ;; esac
out=${out:-gpu-check-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
build=$(mkdir -p "$build" && cd "$build" && pwd)
summary=$out/summary.txt
: >"$summary"
failures=0

say() { # a line for the terminal and summary.txt
  echo "$*" | tee -a "$summary"
}

# ------------------------------------------------------------------- build
bench=$build/hosttools/clcnn-bench
# The source folder the build was configured for ("" when there is none).
configured_source() {
  sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null
}
if [ ! -x "$bench" ] || [ ! -f "$build/tests/CTestTestfile.cmake" ]; then
  command -v cmake >/dev/null 2>&1 ||
    { echo "gpu-check: no build in $build, and no cmake to make one" >&2; exit 1; }
  echo "gpu-check: building in $build (log: $out/build.log)"
  { cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLCNN_BUILD_TESTS=ON \
      -DCLCNN_OCLGRIND_TESTS=OFF -DCLCNN_BUILD_TOOLS=ON &&
    cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)"; } >"$out/build.log" 2>&1 ||
    { echo "gpu-check: the build failed; the end of $out/build.log:" >&2
      tail -20 "$out/build.log" >&2; exit 1; }
elif [ "$(configured_source)" = "$repo" ] && command -v cmake >/dev/null 2>&1; then
  cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" >"$out/build.log" 2>&1 ||
    { echo "gpu-check: updating the build failed: see $out/build.log" >&2; exit 1; }
fi

# Caches in the build tree, as ctest's; test data from this checkout, which
# is not where a carried build was made.
export CLCNN_CACHE_DIR=$build/test-cache
export POCL_CACHE_DIR=$build/pocl-cache
export CLCNN_TEST_DATA_DIR=$repo/tests/data
mkdir -p "$CLCNN_CACHE_DIR" "$POCL_CACHE_DIR"

say "gpu-check $(date '+%Y-%m-%d %H:%M:%S %z') on $(uname -n) ($(uname -m)), output in $out"
say "libclcnn $("$bench" --version 2>/dev/null | awk '{print $NF}'), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown), build $build"
env | grep -E '^(OCL_ICD_[A-Z_]*|RUSTICL_ENABLE|CLCNN_DEVICE[A-Z_]*)=' | sed 's/^/  env: /' | tee -a "$summary"

# ----------------------------------------------------------------- devices
# One line per device: id, type, platform, name (tab-separated), from
# clcnn-bench --list.
if ! "$bench" --list >"$out/devices.txt" 2>"$out/devices.err"; then
  say "FAIL: clcnn-bench --list: $(cat "$out/devices.err")"
  exit 1
fi
"$bench" --list --json >"$out/devices.json" 2>/dev/null
devices=$(awk '
  function emit() { if (id != "") printf "%s\t%s\t%s\t%s\n", id, type, platform, name }
  /^[0-9]+:[0-9]+  / { emit(); id = $1; name = substr($0, length($1) + 3); type = ""; platform = "" }
  /^  platform / { platform = $0; sub(/^  platform +/, "", platform); sub(/ \(.*$/, "", platform) }
  /^  type / { type = $2 }
  END { emit() }' "$out/devices.txt")
[ -n "$devices" ] || { say "FAIL: no OpenCL device (see $out/devices.txt)"; exit 1; }

# Devices this run covers: not Oclgrind's simulator (far too slow; its own
# ctest label covers it), and those --devices selects.
selected=""
simulated=0
while IFS=$'\t' read -r id type platform name; do
  if [[ $platform == *Oclgrind* ]]; then
    say "skipped: $id $name [$platform] (Oclgrind's simulator)"
    simulated=$((simulated + 1))
    continue
  fi
  if [ -n "$device_regex" ] && ! grep -Eq -- "$device_regex" <<<"$id $name [$platform]"; then
    say "skipped: $id $name [$platform] (not selected by --devices)"
    continue
  fi
  selected+="$id"$'\t'"$type"$'\t'"$platform"$'\t'"$name"$'\n'
done <<<"$devices"
real_devices=$(( $(grep -c . <<<"$devices") - simulated ))

# ------------------------------------------------------------ kernel tests
# The kernel-labelled tests and their ctest timeouts, read from the build's
# ctest file (no ctest needed, and the build may have moved).
kernel_tests=$(grep -o 'set_tests_properties(\[=\[[^]]*\]=\] PROPERTIES.*' \
                 "$build/tests/CTestTestfile.cmake" |
  awk '/LABELS "[^"]*kernel[^"]*"/ {
         name = $0; sub(/^set_tests_properties\(\[=\[/, "", name); sub(/\]=\].*/, "", name)
         timeout = 300
         if (match($0, /TIMEOUT "[0-9]+"/)) timeout = substr($0, RSTART + 9, RLENGTH - 10)
         print name, timeout
       }')
if [ -n "$test_regex" ]; then
  kernel_tests=$(awk -v re="$test_regex" '$1 ~ re' <<<"$kernel_tests")
fi

# Runs the kernel tests on one device into $1/; prints "passed failed".
run_kernel_tests() {
  local dir=$1 id=$2 passed=0 failed=0 name timeout start status
  : >"$dir/tests.txt"
  while read -r name timeout; do
    [ -n "$name" ] || continue
    start=$(date +%s)
    CLCNN_DEVICE=$id timeout "$timeout" "$build/tests/$name" </dev/null >"$dir/$name.log" 2>&1
    status=$?
    local verdict=PASS
    if [ "$status" -eq 124 ]; then
      verdict="FAIL (timed out after $timeout s)"
    elif [ "$status" -ne 0 ]; then
      verdict="FAIL (exit status $status)"
    fi
    [ "$verdict" = PASS ] && passed=$((passed + 1)) || failed=$((failed + 1))
    printf '%-24s %s  %d s\n' "$name" "$verdict" $(( $(date +%s) - start )) >>"$dir/tests.txt"
  done <<<"$kernel_tests"
  echo "$passed $failed"
}

# --------------------------------------------------------------- benchmark
# "copy 12.3 GB/s, peak_fma ..." from a clcnn-bench --json document.
bench_figures() {
  awk '
    function value(line) { sub(/^[^:]*: */, "", line); sub(/,$/, "", line); gsub(/"/, "", line); return line }
    function figure(v) { v += 0; return v >= 1000 ? sprintf("%.0f", v) : sprintf("%.4g", v) }
    /^ *"timestamps":/ { timestamps = value($0) }
    /^ *"name":/ { name = value($0) }
    /^ *"ms":/ { ms[name] = value($0) }
    /^ *"gbps":/ { gbps[name] = value($0) }
    /^ *"gflops":/ { gflops[name] = value($0) }
    END {
      text = ""
      if ("copy" in gbps) text = text ", copy " figure(gbps["copy"]) " GB/s"
      if ("peak_fma" in gflops) text = text ", peak_fma " figure(gflops["peak_fma"]) " GFLOP/s"
      if ("gemm_1024" in gflops) text = text ", gemm_1024 " figure(gflops["gemm_1024"]) " GFLOP/s"
      if ("conv_a_fwd" in gflops) text = text ", conv_a_fwd " figure(gflops["conv_a_fwd"]) " GFLOP/s"
      if ("net_fmnist_train_step" in ms)
        text = text ", net_fmnist_train_step " figure(ms["net_fmnist_train_step"]) " ms"
      if (timestamps != "") text = text " (timing: " timestamps ")"
      print substr(text, 3)
    }' "$1"
}

run_bench() { # DIR ID
  local args=(--device "$2" --json)
  [ -n "$bench_filter" ] && args+=(--filter "$bench_filter")
  [ -n "$bench_repeats" ] && args+=(--repeats "$bench_repeats")
  timeout "$bench_timeout" "$bench" "${args[@]}" </dev/null >"$1/bench.json" 2>"$1/bench.err"
}

# --------------------------------------------------------------- each device
gpu_id=""
while IFS=$'\t' read -r id type platform name; do
  [ -n "$id" ] || continue
  [ "$type" = gpu ] && [ -z "$gpu_id" ] && gpu_id=$id
  dir=$out/device-${id/:/_}
  mkdir -p "$dir"
  echo "gpu-check: $id $name [$platform] ..."
  line="$id $name [$platform, $type]:"
  if [ "$skip_tests" -eq 0 ]; then
    read -r passed failed < <(run_kernel_tests "$dir" "$id")
    line+=" kernel tests $passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then
      failures=$((failures + 1))
      line+=" ($(grep FAIL "$dir/tests.txt" | awk '{print $1}' | paste -sd, -))"
    fi
  fi
  if [ "$skip_bench" -eq 0 ]; then
    if run_bench "$dir" "$id"; then
      line+="; bench: $(bench_figures "$dir/bench.json")"
    else
      failures=$((failures + 1))
      line+="; bench FAILED: $(tail -1 "$dir/bench.err")"
    fi
  fi
  say "$line"
done <<<"$selected"

# ------------------------------------------------------- cross-device test
if [ "$skip_cross" -eq 0 ]; then
  start=$(date +%s)
  CLCNN_CROSS_DEVICE_MIN=$real_devices timeout 1800 "$build/tests/test_cross_device" \
    >"$out/cross_device.log" 2>&1
  status=$?
  seconds=$(( $(date +%s) - start ))
  worst=$(sed -n 's/^ *largest relative loss difference: //p' "$out/cross_device.log")
  if [ "$status" -eq 0 ]; then
    say "cross-device: passed on $real_devices device(s) x 2 kernel classes in $seconds s (epoch losses within ${worst:-?} of each other)"
  else
    failures=$((failures + 1))
    say "cross-device: FAILED (exit status $status, $seconds s): see $out/cross_device.log"
  fi
fi

# ---------------------------------------------------------- against PyTorch
if [ "$skip_bench" -eq 0 ] && [ "$skip_compare" -eq 0 ]; then
  if /usr/bin/python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then
    args=(--clcnn-bench "$bench" --save "$out/compare")
    [ -n "$gpu_id" ] && args+=(--device "$gpu_id")
    [ -n "$bench_filter" ] && args+=(--filter "$bench_filter")
    [ -n "$bench_repeats" ] && args+=(--repeats "$bench_repeats")
    if /usr/bin/python3 "$repo/hosttools/pytorch/compare.py" "${args[@]}" >"$out/compare.txt" \
      2>"$out/compare.err"; then
      say "compare.py: done on ${gpu_id:-the default device}: see $out/compare.txt"
    else
      failures=$((failures + 1))
      say "compare.py: FAILED: $(tail -1 "$out/compare.err")"
    fi
  else
    say "compare.py: skipped (/usr/bin/python3 has no PyTorch with CUDA)"
  fi
fi

# A chart of every device's figures against the reference, where there are any.
chart=$build/hosttools/clcnn-chart
if [ "$skip_bench" -eq 0 ] && [ -x "$chart" ]; then
  shopt -s nullglob
  documents=("$out"/device-*/bench.json)
  if [ ${#documents[@]} -eq 0 ] || ! "$chart" "${documents[@]}" >"$out/bench.svg" 2>/dev/null; then
    rm -f "$out/bench.svg"
  fi
fi

if [ "$failures" -ne 0 ]; then
  say "gpu-check: $failures step(s) FAILED"
  exit 1
fi
say "gpu-check: all passed"
