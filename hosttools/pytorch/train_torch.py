#!/usr/bin/env python3
"""Trains the seed net (or with --model resnet8 ResNet-8) on Fashion-MNIST in
PyTorch with clcnn-train's recipe, to compare accuracy per epoch with
`clcnn-train --json`.

Recipe (docs/benchmarks.md): SGD lr 0.05, momentum 0.9, weight decay 5e-4,
cosine schedule over the epochs (stepped once per epoch), batch 128 with the
last partial batch kept, inputs normalised by the training set's mean and
std, a fresh shuffle every epoch. ResNet-8 (issue 12): lr 0.1 and
augmentation as clcnn-train's --augment, a random 28x28 crop of the
normalised image zero-padded by 2 pixels and a horizontal flip with
probability 1/2 (torch's own generator draws them, not Philox). Prints one line per epoch, or with --json
one document shaped like clcnn-train's."""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_checkpoint  # noqa: E402
from check_checkpoint import DEFAULT_DATA, CheckError, evaluate, load_split, normalise  # noqa: E402
from resnet8 import ResNet8  # noqa: E402
from seednet import SeedNet  # noqa: E402


def augment(batch, pad=2):
    """Random crops of the zero-padded normalised images plus flips."""
    n, _, height, width = batch.shape
    padded = F.pad(batch, (pad, pad, pad, pad))
    out = torch.empty_like(batch)
    tops = torch.randint(0, 2 * pad + 1, (n,))
    lefts = torch.randint(0, 2 * pad + 1, (n,))
    flips = torch.rand(n) < 0.5
    for i in range(n):
        crop = padded[i, :, tops[i]:tops[i] + height, lefts[i]:lefts[i] + width]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out


def train(args):
    # check_checkpoint's helpers use the torch it imports on demand.
    check_checkpoint.import_torch(args.threads)
    torch.manual_seed(args.seed)
    images, labels = load_split(args.data, "train")
    test_images, test_labels = load_split(args.data, "t10k")
    mean, std = images.double().mean().item(), images.double().std(unbiased=False).item()
    images, test_images = normalise(images, mean, std), normalise(test_images, mean, std)
    resnet = args.model == "resnet8"
    model = ResNet8(1, 10) if resnet else SeedNet(1, images.shape[2], images.shape[3], 10)
    lr = args.lr if args.lr is not None else (0.1 if resnet else 0.05)
    use_augment = args.augment if args.augment is not None else resnet
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    epochs = []
    for epoch in range(args.epochs):
        start, loss_sum, steps = time.monotonic(), 0.0, 0
        model.train()
        order = torch.randperm(len(images))
        for first in range(0, len(images), args.batch):
            index = order[first:first + args.batch]
            batch = augment(images[index]) if use_augment else images[index]
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum, steps = loss_sum + loss.item(), steps + 1
        seconds = time.monotonic() - start
        accuracy = evaluate(model, test_images, test_labels)
        epochs.append({"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                       "train_loss": loss_sum / steps, "train_seconds": seconds,
                       "test_accuracy": accuracy})
        schedule.step()
        if not args.json:
            print(f"epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / steps:.4f}, "
                  f"test accuracy {accuracy:.2f} %, {seconds:.1f} s", flush=True)
    if args.json:
        print(json.dumps({"tool": "train_torch.py", "torch": torch.__version__,
                          "model": args.model, "augment": use_augment, "seed": args.seed,
                          "epochs": epochs}, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--model", choices=["seed", "resnet8"], default="seed")
    parser.add_argument("--lr", type=float, default=None, help="default 0.05, resnet8 0.1")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                        help="default on for resnet8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    try:
        train(parser.parse_args())
    except CheckError as error:
        print(f"{os.path.basename(sys.argv[0])}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
