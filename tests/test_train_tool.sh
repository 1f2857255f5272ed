#!/usr/bin/env bash
# clcnn-train end to end, on small synthetic IDX data written here (28x28
# random pixels, labels 0-9), each run a few steps:
# - the command line: --name=VALUE, unknown options, missing values, invalid
#   choices listing the valid ones, --version;
# - a --save target that cannot be written fails before any device work;
# - without --save the model goes to ./clcnn-seed.safetensors, and the run
#   says where; a cold program cache is announced ("building OpenCL
#   kernels") and its time reported apart, a warm one is not;
# - the JSON document writes 0.05 as 0.05;
# - a loss that turns NaN stops the run at once with a message naming the
#   step and --lr, exit status 1, no checkpoint and no JSON;
# - training images of one pixel value are refused;
# - --resume says where it starts, says when there is nothing left, and
#   refuses a model beside the optimizer state of another epoch;
# - --eval-only needs only the t10k files.
# Under the sanitizer build every run is also a leak check (LeakSanitizer
# makes the exit status 1).
#
# Usage: test_train_tool.sh CLCNN_TRAIN WORK_DIR
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 CLCNN_TRAIN WORK_DIR" >&2
  exit 2
fi
train=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$2
rm -rf "$work"
mkdir -p "$work" || exit 1
work=$(cd "$work" && pwd)
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# ------------------------------------------------------------------- data

byte() { printf "\\x$(printf %02x $(($1 & 255)))"; }
be32() { byte $(($1 >> 24)); byte $(($1 >> 16)); byte $(($1 >> 8)); byte "$1"; }

# write_split DIR PREFIX COUNT PIXEL_SOURCE
write_split() {
  { printf '\x00\x00\x08\x03'; be32 "$3"; be32 28; be32 28; head -c $(($3 * 784)) "$4"; } \
    >"$1/$2-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; be32 "$3"
    for ((i = 0; i < $3; i++)); do byte $((i % 10)); done; } >"$1/$2-labels-idx1-ubyte"
}

data=$work/data
mkdir -p "$data" "$work/zero" "$work/test-only"
write_split "$data" train 192 /dev/urandom
write_split "$data" t10k 64 /dev/urandom
write_split "$work/zero" train 64 /dev/zero
write_split "$work/zero" t10k 64 /dev/zero
ln -s "$data/t10k-images-idx3-ubyte" "$data/t10k-labels-idx1-ubyte" "$work/test-only/"

short=(--data "$data" --epochs=1 --batch 64)

# run NAME ARGS...: runs clcnn-train, output in $work/NAME.out and .err,
# exit status in $status.
run() {
  local name=$1
  shift
  "$train" "$@" >"$work/$name.out" 2>"$work/$name.err"
  status=$?
}

expect_usage_error() { # DESCRIPTION EXPECTED_MESSAGE ARGS...
  local what=$1 message=$2
  shift 2
  run usage "$@"
  if [ "$status" -ne 2 ]; then
    fail "$what: exit status $status, expected 2"
  elif ! grep -qF -- "$message" "$work/usage.err"; then
    fail "$what: message '$(cat "$work/usage.err")' lacks '$message'"
  fi
}

# ----------------------------------------------------------- command line
expect_usage_error "unknown option" "unknown option --bogus" --bogus
expect_usage_error "unknown option with a value" "unknown option --bogus" --bogus=3
expect_usage_error "missing value" "--epochs needs a value" --epochs
expect_usage_error "flag with a value" "--json takes no value" --json=yes
expect_usage_error "invalid optimizer" 'invalid value "foo" for --optimizer: choose sgd, nesterov, adam or adamw' --optimizer=foo
expect_usage_error "invalid schedule" "choose cosine, step or constant" --schedule linear
expect_usage_error "invalid model" 'invalid value "vgg" for --model: choose seed or resnet8' --model vgg
expect_usage_error "invalid number" 'invalid value "0" for --epochs: expected a whole number of at least 1' --epochs=0
expect_usage_error "operand" 'unexpected argument "extra"' extra
expect_usage_error "--save with --eval-only" "--eval-only saves nothing" --eval-only a --save b
run version --version
[ "$status" -eq 0 ] && grep -q '^clcnn-train (libclcnn) [0-9]' "$work/version.out" ||
  fail "--version: status $status, output '$(cat "$work/version.out")'"

# ---------------------------------------------------- --save checked first
run bad-save "${short[@]}" --save "$work/no-such-dir/model.safetensors"
[ "$status" -ne 0 ] && grep -q "cannot save the checkpoint as $work/no-such-dir/model.safetensors" \
  "$work/bad-save.err" || fail "unwritable --save: status $status, '$(cat "$work/bad-save.err")'"
grep -q "device:" "$work/bad-save.out" && fail "unwritable --save was found only after set-up"
run dir-save "${short[@]}" --save "$work"
[ "$status" -ne 0 ] && grep -q "it is a directory" "$work/dir-save.err" ||
  fail "--save DIRECTORY: status $status, '$(cat "$work/dir-save.err")'"

# ------------------------------- default checkpoint, cold then warm cache
mkdir -p "$work/cwd"
export CLCNN_CACHE_DIR=$work/fresh-cache
(cd "$work/cwd" && "$train" "${short[@]}" --json >"$work/cold.out" 2>"$work/cold.err")
status=$?
model=$work/cwd/clcnn-seed.safetensors
if [ "$status" -ne 0 ]; then
  fail "first run: exit status $status: $(cat "$work/cold.err")"
else
  [ -f "$model" ] && [ -f "$model.optim" ] || fail "no clcnn-seed.safetensors (+ .optim) in the current directory"
  grep -q "building OpenCL kernels for .*, cached for later runs" "$work/cold.err" ||
    fail "a cold program cache is not announced: $(cat "$work/cold.err")"
  grep -q "saved the model after epoch 1 of 1 as $model " "$work/cold.err" ||
    fail "the run does not say where it saved: $(cat "$work/cold.err")"
  grep -q "\"checkpoint\": \"$model\"" "$work/cold.out" || fail "the JSON has no \"checkpoint\""
  grep -q '"kernel_build_seconds": [0-9.e-]*[1-9]' "$work/cold.out" ||
    fail "the JSON reports no kernel build time on a cold cache"
  grep -q '"lr": 0.05,' "$work/cold.out" || fail "the JSON writes 0.05 otherwise: $(grep '"lr"' "$work/cold.out")"
  grep -Eq '[0-9]\.[0-9]*(0000000000|9999999999)' "$work/cold.out" &&
    fail "the JSON holds numbers that are not shortest: $(grep -E '(0000000000|9999999999)' "$work/cold.out")"
fi
(cd "$work/cwd" && "$train" "${short[@]}" >"$work/warm.out" 2>"$work/warm.err")
status=$?
if [ "$status" -ne 0 ]; then
  fail "second run: exit status $status: $(cat "$work/warm.err")"
else
  grep -q "building OpenCL kernels" "$work/warm.out" "$work/warm.err" &&
    fail "a warm program cache is announced as a build: $(cat "$work/warm.out")"
  grep -q "checkpoint: clcnn-seed.safetensors after each epoch (the default" "$work/warm.out" ||
    fail "the run does not say it saves to the default path"
  grep -q "saved the model after epoch 1 of 1 as $model " "$work/warm.out" ||
    fail "the run does not say where it saved"
fi
unset CLCNN_CACHE_DIR

# ------------------------------------------------------------ a NaN loss
run nan --data "$data" --epochs=2 --batch 16 --lr 1e9 --save "$work/nan.safetensors"
[ "$status" -eq 1 ] || fail "a NaN loss: exit status $status, expected 1"
grep -Eq "loss became (NaN|infinite) at epoch 1, step [0-9]+ of 12" "$work/nan.err" ||
  fail "a NaN loss: no message naming the step: $(cat "$work/nan.err")"
grep -q "lower --lr" "$work/nan.err" || fail "a NaN loss: no advice on --lr"
grep -q "test accuracy" "$work/nan.out" && fail "a NaN loss: the run went on to an evaluation"
grep -qi "out of memory" "$work/nan.err" && fail "a NaN loss: 'out of memory'"
[ -e "$work/nan.safetensors" ] && fail "a NaN loss: a checkpoint was saved"
run nan-json --data "$data" --epochs=1 --batch 16 --lr 1e9 --json --save "$work/nan.safetensors"
[ "$status" -eq 1 ] && [ ! -s "$work/nan-json.out" ] ||
  fail "a NaN loss with --json: status $status, output '$(head -c 200 "$work/nan-json.out")'"

# ----------------------------------------------- one pixel value throughout
run zero --data "$work/zero" --epochs=1 --save "$work/zero.safetensors"
[ "$status" -eq 1 ] && grep -q "standard deviation 0" "$work/zero.err" ||
  fail "constant images: status $status, '$(cat "$work/zero.err")'"

# ---------------------------------------------------------------- --resume
if [ -f "$model" ]; then
  cp "$model.optim" "$work/epoch1.optim"
  run resume "${short[@]}" --epochs=2 --resume "$model"
  [ "$status" -eq 0 ] && grep -q "resuming $model at epoch 2 of 2" "$work/resume.out" ||
    fail "--resume: status $status, '$(cat "$work/resume.out" "$work/resume.err")'"
  grep -q "^epoch 2/2:" "$work/resume.out" || fail "--resume did not train epoch 2"
  run complete "${short[@]}" --epochs=2 --resume "$model"
  [ "$status" -eq 0 ] && grep -q "training is complete: $model holds 2 epochs" "$work/complete.out" ||
    fail "--resume of a finished run: status $status, '$(cat "$work/complete.out" "$work/complete.err")'"
  grep -q "^epoch " "$work/complete.out" && fail "--resume of a finished run trained again"
  # A model of epoch 2 beside the optimizer state of epoch 1, as a save
  # cut short between the two files leaves them.
  cp "$work/epoch1.optim" "$model.optim"
  run mismatch "${short[@]}" --epochs=3 --resume "$model"
  [ "$status" -eq 1 ] || fail "a mismatched pair: exit status $status, expected 1"
  grep -q "were not saved together (the model is from epoch 2, the optimizer state from epoch 1)" \
    "$work/mismatch.err" || fail "a mismatched pair: '$(cat "$work/mismatch.err")'"
  grep -q "^epoch " "$work/mismatch.out" && fail "a mismatched pair was trained on"
  rm -f "$model.optim"
  run no-optim "${short[@]}" --epochs=3 --resume "$model"
  [ "$status" -eq 1 ] && grep -q "reading its optimizer state" "$work/no-optim.err" ||
    fail "a missing .optim: status $status, '$(cat "$work/no-optim.err")'"

  # ------------------------------------------------- --eval-only, test files only
  run eval --data "$work/test-only" --eval-only "$model"
  [ "$status" -eq 0 ] && grep -q "^test accuracy" "$work/eval.out" ||
    fail "--eval-only without training files: status $status, '$(cat "$work/eval.err")'"
fi

# --------------------------- ResNet-8: its recipe, then --eval-only of it
run resnet8 --data "$data" --model resnet8 --epochs 1 --batch 4 --train-limit 8 --test-limit 8 \
  --json --save "$work/resnet8.safetensors"
if [ "$status" -ne 0 ]; then
  fail "--model resnet8: exit status $status: $(cat "$work/resnet8.err")"
else
  grep -q '"model": "resnet8"' "$work/resnet8.out" && grep -q '"augment": true' "$work/resnet8.out" &&
    grep -q '"lr": 0.1,' "$work/resnet8.out" ||
    fail "--model resnet8 does not run its recipe (resnet8, augment, lr 0.1): $(head -c 600 "$work/resnet8.out")"
  run resnet8-eval --data "$work/test-only" --eval-only "$work/resnet8.safetensors"
  [ "$status" -eq 0 ] && grep -q "^test accuracy" "$work/resnet8-eval.out" ||
    fail "--eval-only of a ResNet-8 checkpoint: status $status, '$(cat "$work/resnet8-eval.err")'"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
