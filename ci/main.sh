#!/usr/bin/env bash
# The main job: installs what is missing, builds the release build in build/
# and trains the seed network on Fashion-MNIST with clcnn-train on the best
# device present (CLCNN_DEVICE or --device picks another). Arguments go to
# clcnn-train (--help lists them). Runs from any directory.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

echo "== setup"
bash ci/setup.sh

echo "== build (Release, build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCLCNN_BUILD_TOOLS=ON
cmake --build build --parallel "$(nproc 2>/dev/null || echo 2)" --target clcnn-train clcnn-bench

echo "== clcnn-train $*"
export CLCNN_CACHE_DIR="${CLCNN_CACHE_DIR:-$repo/build/cache/clcnn}"
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$repo/build/cache/pocl}"
mkdir -p "$CLCNN_CACHE_DIR" "$POCL_CACHE_DIR"
exec "$repo/build/hosttools/clcnn-train" "$@"
