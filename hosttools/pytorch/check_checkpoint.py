#!/usr/bin/env python3
"""Checks that libclcnn checkpoints and PyTorch agree, both ways.

  check_checkpoint.py CHECKPOINT [--compare-clcnn CLCNN_TRAIN]
      loads a libclcnn checkpoint into SeedNet (strict), evaluates it on the
      Fashion-MNIST test set and, with --compare-clcnn, checks that
      `clcnn-train --eval-only CHECKPOINT` gets the same accuracy.
  check_checkpoint.py --export-pytorch OUT [--steps N] [--compare-clcnn ...]
      trains SeedNet briefly in PyTorch, saves it as OUT with libclcnn's
      metadata, then checks OUT the same way.

Exit status 1 when the two accuracies differ by more than 0.1 points."""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seednet import SeedNet, load_safetensors, save_safetensors  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
TOLERANCE_POINTS = 0.1


def read_idx(path):
    """A gzip (or plain) IDX file of unsigned bytes as a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
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
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)["epochs"][0]["test_accuracy"]


def export_pytorch(out, data_dir, steps, batch=128):
    """Trains SeedNet for `steps` SGD steps and saves it as a libclcnn checkpoint."""
    images, labels = load_split(data_dir, "train")
    mean, std = images.double().mean().item(), images.double().std(unbiased=False).item()
    images = normalise(images, mean, std)
    torch.manual_seed(0)
    model = SeedNet(1, images.shape[2], images.shape[3], 10)
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
    save_safetensors(model.state_dict(), out, metadata)
    print(f"saved {out} (input mean {mean:.9g}, std {std:.9g})")


def check(checkpoint, data_dir, clcnn_train):
    state, metadata = load_safetensors(checkpoint)
    images, labels = load_split(data_dir, "t10k")
    images = normalise(images, float(metadata["input_mean"]), float(metadata["input_std"]))
    model = SeedNet(1, images.shape[2], images.shape[3], state["fc2.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    accuracy = evaluate(model, images, labels)
    print(f"PyTorch  test accuracy {accuracy:.2f} % ({checkpoint})")
    if clcnn_train is None:
        return 0
    reference = clcnn_accuracy(clcnn_train, checkpoint, data_dir, len(images))
    difference = abs(accuracy - reference)
    print(f"libclcnn test accuracy {reference:.2f} % (clcnn-train --eval-only)")
    verdict = "agree" if difference <= TOLERANCE_POINTS else "DISAGREE"
    print(f"{verdict}: difference {difference:.2f} points (tolerance {TOLERANCE_POINTS})")
    return 0 if difference <= TOLERANCE_POINTS else 1


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
    torch.set_num_threads(args.threads)
    if args.export_pytorch:
        export_pytorch(args.export_pytorch, args.data, args.steps)
    return check(args.checkpoint or args.export_pytorch, args.data, args.compare_clcnn)


if __name__ == "__main__":
    sys.exit(main())
