#!/usr/bin/env bash
# hosttools/pytorch/check_checkpoint.py reports what is wrong in one line
# ("check_checkpoint.py: ..."), exit status 1, never a traceback: a missing
# file, files that are not safetensors, a checkpoint without clcnn-train's
# metadata, and a file that is not the seed network or ResNet-8 (with
# PyTorch), or PyTorch itself missing (without it). The checks before
# PyTorch is needed run on any machine.
#
# With CLCNN_TRAIN, checkpoints of both models that clcnn-train writes (a few
# steps on random images): with PyTorch each loads strictly into its module
# (seednet.SeedNet, resnet8.ResNet8) and gets clcnn-train --eval-only's test
# accuracy; without it they pass every check made before PyTorch is needed.
# With PyTorch, train_torch.py also trains one batch of each model.
#
# Usage: test_check_checkpoint.sh PYTHON SCRIPT WORK_DIR [CLCNN_TRAIN]
set -u

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
  echo "usage: $0 PYTHON SCRIPT WORK_DIR [CLCNN_TRAIN]" >&2
  exit 2
fi
python=$1
script=$2
work=$3
train=${4:-}
rm -rf "$work"
mkdir -p "$work" || exit 1
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

byte() { printf "\\x$(printf %02x $(($1 & 255)))"; }
le64() { for shift in 0 8 16 24 32 40 48 56; do byte $(($1 >> shift)); done; }
be32() { byte $(($1 >> 24)); byte $(($1 >> 16)); byte $(($1 >> 8)); byte "$1"; }

# safetensors FILE HEADER_JSON DATA_BYTES: the header padded to 8 bytes.
safetensors() {
  local header=$2
  while [ $((${#header} % 8)) -ne 0 ]; do header="$header "; done
  { le64 ${#header}; printf '%s' "$header"; head -c "$3" /dev/zero; } >"$1"
}

expect_error() { # DESCRIPTION EXPECTED_MESSAGE ARGS...
  local what=$1 message=$2
  shift 2
  "$python" "$script" "$@" >"$work/out" 2>"$work/err"
  local status=$? lines
  lines=$(wc -l <"$work/err")
  if [ "$status" -ne 1 ]; then
    fail "$what: exit status $status, expected 1: $(cat "$work/err")"
  elif [ "$lines" -ne 1 ] || grep -q Traceback "$work/err"; then
    fail "$what: not one line: $(cat "$work/err")"
  elif ! grep -qF -- "check_checkpoint.py: " "$work/err" || ! grep -qF -- "$message" "$work/err"; then
    fail "$what: message '$(cat "$work/err")' lacks '$message'"
  fi
}

# A tiny test set for --data (PyTorch reads it before the architecture check).
{ printf '\x00\x00\x08\x03'; be32 4; be32 28; be32 28; head -c $((4 * 784)) /dev/zero; } \
  >"$work/t10k-images-idx3-ubyte"
{ printf '\x00\x00\x08\x01'; be32 4; printf '\x00\x01\x02\x03'; } >"$work/t10k-labels-idx1-ubyte"

expect_error "a missing file" "$work/missing.safetensors: cannot read: No such file or directory" \
  "$work/missing.safetensors"
: >"$work/empty.safetensors"
expect_error "an empty file" "not a safetensors file" "$work/empty.safetensors"
head -c 100 /dev/urandom >"$work/random.safetensors"
expect_error "random bytes" "not a safetensors file" "$work/random.safetensors"
safetensors "$work/text.safetensors" 'not JSON at all' 0
expect_error "a header that is not JSON" "its header is not JSON" "$work/text.safetensors"
safetensors "$work/offsets.safetensors" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}' 4
expect_error "data past the end" "corrupt safetensors file (tensor 'a'" "$work/offsets.safetensors"
safetensors "$work/plain.safetensors" '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}' 4
expect_error "no normalisation metadata" "no numeric input_mean and input_std" "$work/plain.safetensors"
safetensors "$work/other.safetensors" \
  '{"__metadata__": {"input_mean": "0.25", "input_std": "0.5"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}' 4
safetensors "$work/partial-resnet.safetensors" \
  '{"__metadata__": {"input_mean": "0.25", "input_std": "0.5"}, "layer1.0.conv1.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}' 4
have_torch=0
"$python" -c 'import torch' >/dev/null 2>&1 && have_torch=1
if [ "$have_torch" -eq 1 ]; then
  expect_error "another network" "does not hold the seed network: missing " \
    "$work/other.safetensors" --data "$work"
  expect_error "part of a ResNet-8" "does not hold the ResNet-8: missing " \
    "$work/partial-resnet.safetensors" --data "$work"
else
  expect_error "PyTorch missing" "PyTorch is not installed (apt-get install python3-torch)" \
    "$work/other.safetensors" --data "$work"
fi

# ------------------------------------------- checkpoints that clcnn-train writes

# write_split DIR PREFIX COUNT: random 28x28 images, labels 0-9 in turn.
write_split() {
  { printf '\x00\x00\x08\x03'; be32 "$3"; be32 28; be32 28; head -c $(($3 * 784)) /dev/urandom; } \
    >"$1/$2-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; be32 "$3"
    for ((i = 0; i < $3; i++)); do byte $((i % 10)); done; } >"$1/$2-labels-idx1-ubyte"
}

# check_trained MODEL MODULE: trains MODEL for two steps, then checks its
# checkpoint, which must load into MODULE (the name the script prints).
check_trained() {
  local model=$1 module=$2 checkpoint="$work/$1.safetensors"
  if ! "$train" --model "$model" --data "$work/data" --epochs 1 --batch 8 --train-limit 16 \
    --save "$checkpoint" >"$work/$model-train.out" 2>&1; then
    fail "clcnn-train --model $model: $(tail -n 3 "$work/$model-train.out")"
    return
  fi
  if [ "$have_torch" -eq 0 ]; then
    expect_error "the $model checkpoint without PyTorch" "PyTorch is not installed" \
      "$checkpoint" --data "$work/data"
    return
  fi
  "$python" "$script" "$checkpoint" --data "$work/data" --compare-clcnn "$train" \
    >"$work/out" 2>"$work/err"
  local status=$?
  if [ "$status" -ne 0 ]; then
    fail "the $model checkpoint: exit status $status: $(cat "$work/err" "$work/out")"
  elif ! grep -qF "PyTorch  test accuracy" "$work/out" || ! grep -qF "($module, " "$work/out" ||
    ! grep -q "^agree: difference 0.00 points" "$work/out"; then
    fail "the $model checkpoint: not loaded into $module, or the accuracies differ: $(cat "$work/out")"
  fi
}

mkdir -p "$work/data"
write_split "$work/data" train 16
write_split "$work/data" t10k 32
if [ -n "$train" ]; then
  check_trained seed "seed network"
  check_trained resnet8 "ResNet-8"
fi

# train_torch.py, beside the script, shares its data reader: one batch of
# each model.
if [ "$have_torch" -eq 1 ]; then
  for model in seed resnet8; do
    "$python" "$(dirname "$script")/train_torch.py" --model "$model" --data "$work/data" \
      --epochs 1 --batch 16 --json >"$work/out" 2>"$work/err"
    status=$?
    if [ "$status" -ne 0 ] || ! grep -qF "\"model\": \"$model\"" "$work/out" ||
      ! grep -qF '"test_accuracy"' "$work/out"; then
      fail "train_torch.py --model $model: exit status $status: $(tail -n 3 "$work/err")"
    fi
  done
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
