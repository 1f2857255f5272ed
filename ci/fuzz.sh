#!/usr/bin/env bash
# Fuzzes the safetensors parser with libFuzzer (clang, ASan + UBSan) for a
# bounded time: bash ci/fuzz.sh [SECONDS] (default 60). Prints libFuzzer's
# execution count; any crash, leak or sanitizer report fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"
cp -n tests/fuzz/safetensors_seeds/* "$out/corpus/" 2>/dev/null || true
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -DCL_TARGET_OPENCL_VERSION=120 -DCLCNN_VERSION_TEXT='"fuzz"' \
    -Iinclude -Isrc tests/fuzz/fuzz_safetensors.c src/io/*.c src/base/*.c src/runtime/status.c \
    src/runtime/cl_errors.c -ljansson -lz -lOpenCL -o "$out/fuzz_safetensors"
"$out/fuzz_safetensors" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" 2>&1 | tee "$out/fuzz.log" | grep -E '^(Done|stat::number_of_executed_units|==)' || true
grep -q '^Done [0-9]* runs' "$out/fuzz.log" || { echo "fuzz: libFuzzer did not finish cleanly"; tail -40 "$out/fuzz.log"; exit 1; }
echo "fuzz: $(grep -o '^Done [0-9]* runs in [0-9]* second(s)' "$out/fuzz.log") with no crash, leak or sanitizer report"
