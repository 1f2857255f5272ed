#!/usr/bin/env bash
# The main job: installs what is missing, builds the release build in build/
# and runs clcnn-bench on the default device (CLCNN_DEVICE picks another).
# Arguments go to clcnn-bench. Runs from any directory.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

echo "== setup"
bash ci/setup.sh

echo "== build (Release, build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCLCNN_BUILD_TOOLS=ON
cmake --build build --parallel "$(nproc 2>/dev/null || echo 2)" --target clcnn-bench

echo "== clcnn-bench $*"
export CLCNN_CACHE_DIR="${CLCNN_CACHE_DIR:-$repo/build/cache/clcnn}"
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$repo/build/cache/pocl}"
mkdir -p "$CLCNN_CACHE_DIR" "$POCL_CACHE_DIR"
exec "$repo/build/hosttools/clcnn-bench" "$@"
