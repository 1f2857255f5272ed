#!/usr/bin/env python3
"""Checks that libclcnn checkpoints and PyTorch agree, both ways.

  check_checkpoint.py CHECKPOINT [--compare-clcnn CLCNN_TRAIN]
      loads a libclcnn checkpoint into SeedNet or ResNet8 (resnet8.py; the
      one whose names the checkpoint holds) with load_state_dict(strict=True),
      evaluates it on the
      Fashion-MNIST test set and, with --compare-clcnn, checks that
      `clcnn-train --eval-only CHECKPOINT` gets the same accuracy.
  check_checkpoint.py --export-pytorch OUT [--steps N] [--compare-clcnn ...]
      trains SeedNet briefly in PyTorch, saves it as OUT with libclcnn's
      metadata, then checks OUT the same way.

Exit status 1 when the two accuracies differ by more than 0.1 points, or
after a one-line message when something is missing or wrong (the file, its
contents, the data, PyTorch itself)."""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys

PROGRAM = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "check_checkpoint.py"
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
TOLERANCE_POINTS = 0.1

# Imported by import_torch(): the checkpoint's file is checked first, so
# that a wrong path is reported as such even where PyTorch is missing.
torch = None
F = None
seednet = None
resnet8 = None


class CheckError(Exception):
    """A failure to report as one line, without a traceback."""


def import_torch(threads):
    """Imports PyTorch and seednet (which needs it) into the globals."""
    global torch, F, seednet, resnet8
    if torch is not None:
        return
    try:
        import torch as torch_module
        import torch.nn.functional as functional
    except ImportError as error:
        if error.name not in (None, "torch") and not error.name.startswith("torch."):
            raise CheckError(f"PyTorch cannot be imported: {error}") from None
        raise CheckError("PyTorch is not installed (apt-get install python3-torch)") from None
    torch, F = torch_module, functional
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import seednet as seednet_module  # noqa: E402 (needs torch)
    import resnet8 as resnet8_module  # noqa: E402 (needs torch)
    seednet = seednet_module
    resnet8 = resnet8_module


# ----------------------------------------------------------- the checkpoint

def read_header(path):
    """The tensor entries and metadata of a safetensors file, checked
    without PyTorch: the header is JSON and every tensor lies in the file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise CheckError(f"{path}: cannot read: {error.strerror}") from None
    if len(data) < 8:
        raise CheckError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (length,) = struct.unpack_from("<Q", data, 0)
    if 8 + length > len(data):
        raise CheckError(f"{path}: not a safetensors file (its header length {length} runs "
                         f"past the end of the {len(data)}-byte file)")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckError(f"{path}: not a safetensors file (its header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    data_size = len(data) - 8 - length
    for name, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(x, int) for x in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise CheckError(f"{path}: corrupt safetensors file (tensor {name!r} has no valid "
                             f"data_offsets within the file)")
    return header, metadata


def input_statistics(path, metadata):
    """(input_mean, input_std) from the checkpoint's metadata."""
    try:
        mean, std = float(metadata["input_mean"]), float(metadata["input_std"])
    except (KeyError, TypeError, ValueError):
        raise CheckError(f"{path}: no numeric input_mean and input_std in its metadata "
                         f"(not a checkpoint of clcnn-train?)") from None
    if not std > 0:
        raise CheckError(f"{path}: input_std {std} is not positive")
    return mean, std


def names_list(names, limit=3):
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_architecture(path, state, expected, model_name):
    """Raises CheckError naming what differs from the model's state dict."""
    missing = expected.keys() - state.keys()
    unexpected = state.keys() - expected.keys()
    reshaped = [f"{name} {list(state[name].shape)} (expected {list(expected[name].shape)})"
                for name in sorted(expected.keys() & state.keys())
                if state[name].shape != expected[name].shape]
    problems = []
    if missing:
        problems.append(f"missing {names_list(missing)}")
    if unexpected:
        problems.append(f"unexpected {names_list(unexpected)}")
    if reshaped:
        problems.append(f"wrong shape: {names_list(reshaped, 2)}")
    if problems:
        raise CheckError(f"{path} does not hold the {model_name}: {'; '.join(problems)}")


def load_checkpoint(path):
    try:
        return seednet.load_safetensors(path)
    except (KeyError, ValueError, RuntimeError) as error:
        raise CheckError(f"{path}: cannot load: {error}") from None


# --------------------------------------------------------------------- data

def read_idx(path):
    """A gzip (or plain) IDX file of unsigned bytes as a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise CheckError(f"{path}: cannot read: {error.strerror or error} (install "
                         f"dataset-fashion-mnist or pass --data DIR)") from None
    if len(data) < 4:
        raise CheckError(f"{path}: not an IDX file of unsigned bytes")
    zero, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08 or len(data) < 4 + 4 * ndim:
        raise CheckError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    count = 1
    for dim in shape:
        count *= dim
    if len(data) - 4 - 4 * ndim != count:
        raise CheckError(f"{path}: its size does not match its shape {list(shape)}")
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)


def load_split(data_dir, prefix):
    """(images [N, 1, H, W] as pixels / 255 in float32, labels int64)."""
    def path(kind):
        name = os.path.join(data_dir, f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte")
        return name + ".gz" if os.path.exists(name + ".gz") else name
    images = read_idx(path("images")).unsqueeze(1).float() / 255.0
    return images, read_idx(path("labels")).long()


def normalise(images, mean, std):
    """As clcnn-train does it: in double, rounded to float."""
    return ((images.double() - mean) / std).float()


# ------------------------------------------------------------------- checks

def evaluate(model, images, labels, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for first in range(0, len(images), batch):
            logits = model(images[first:first + batch])
            correct += (logits.argmax(1) == labels[first:first + batch]).sum().item()
    return 100.0 * correct / len(images)


def clcnn_accuracy(clcnn_train, checkpoint, data_dir, test_images):
    command = [clcnn_train, "--eval-only", checkpoint, "--json", "--data", data_dir,
               "--test-limit", str(test_images)]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise CheckError(f"{clcnn_train}: cannot run: {error.strerror}") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        reason = lines[0] if lines else "no message"
        raise CheckError(f"clcnn-train --eval-only failed (exit {result.returncode}): {reason}")
    return json.loads(result.stdout)["epochs"][0]["test_accuracy"]


def export_pytorch(out, data_dir, steps, batch=128):
    """Trains SeedNet for `steps` SGD steps and saves it as a libclcnn checkpoint."""
    images, labels = load_split(data_dir, "train")
    mean, std = images.double().mean().item(), images.double().std(unbiased=False).item()
    images = normalise(images, mean, std)
    torch.manual_seed(0)
    model = seednet.SeedNet(1, images.shape[2], images.shape[3], 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    order = torch.randperm(len(images))
    model.train()
    for step in range(steps):
        first = step * batch % len(images)
        index = order[first:first + batch]
        loss = F.cross_entropy(model(images[index]), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            print(f"step {step + 1}/{steps}: loss {loss.item():.4f}", flush=True)
    metadata = {"input_mean": f"{mean:.9g}", "input_std": f"{std:.9g}",
                "library": "pytorch", "steps": str(steps)}
    try:
        seednet.save_safetensors(model.state_dict(), out, metadata)
    except OSError as error:
        raise CheckError(f"{out}: cannot write: {error.strerror}") from None
    print(f"saved {out} (input mean {mean:.9g}, std {std:.9g})")


def model_for(state, height, width):
    """(the module the checkpoint's names belong to, its name): ResNet8
    when it has torchvision's block names, else SeedNet."""
    resnet = "layer1.0.conv1.weight" in state
    last = state.get("fc.weight" if resnet else "fc2.weight")
    classes = last.shape[0] if last is not None and last.dim() == 2 else 10
    if resnet:
        return resnet8.ResNet8(1, classes), "ResNet-8"
    return seednet.SeedNet(1, height, width, classes), "seed network"


def check(checkpoint, data_dir, clcnn_train, threads):
    _, metadata = read_header(checkpoint)
    mean, std = input_statistics(checkpoint, metadata)
    import_torch(threads)
    images, labels = load_split(data_dir, "t10k")
    images = normalise(images, mean, std)
    state, _ = load_checkpoint(checkpoint)
    model, model_name = model_for(state, images.shape[2], images.shape[3])
    check_architecture(checkpoint, state, model.state_dict(), model_name)
    model.load_state_dict(state, strict=True)
    accuracy = evaluate(model, images, labels)
    print(f"PyTorch  test accuracy {accuracy:.2f} % ({model_name}, {checkpoint})")
    if clcnn_train is None:
        return 0
    reference = clcnn_accuracy(clcnn_train, checkpoint, data_dir, len(images))
    difference = abs(accuracy - reference)
    print(f"libclcnn test accuracy {reference:.2f} % (clcnn-train --eval-only)")
    verdict = "agree" if difference <= TOLERANCE_POINTS else "DISAGREE"
    print(f"{verdict}: difference {difference:.2f} points (tolerance {TOLERANCE_POINTS})")
    return 0 if difference <= TOLERANCE_POINTS else 1


def run(args):
    if args.export_pytorch:
        import_torch(args.threads)
        export_pytorch(args.export_pytorch, args.data, args.steps)
    return check(args.checkpoint or args.export_pytorch, args.data, args.compare_clcnn,
                 args.threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", help="libclcnn checkpoint to check")
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST-format IDX files")
    parser.add_argument("--compare-clcnn", metavar="CLCNN_TRAIN",
                        help="clcnn-train binary: compare with its --eval-only accuracy")
    parser.add_argument("--export-pytorch", metavar="OUT",
                        help="train SeedNet in PyTorch, save it as OUT and check OUT")
    parser.add_argument("--steps", type=int, default=300, help="training steps for export")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    args = parser.parse_args()
    if (args.checkpoint is None) == (args.export_pytorch is None):
        parser.error("give either CHECKPOINT or --export-pytorch OUT")
    try:
        return run(args)
    except CheckError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
