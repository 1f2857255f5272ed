#!/usr/bin/env python3
"""
gen_graph_golden.py -- end-to-end golden of three SGD training steps of a small
graph network (a downsampling residual block, a concatenation of three
branches, global average pooling), for tests/test_net_golden.c.

    /usr/bin/python3 hosttools/pytorch/gen_graph_golden.py [OUT]
        (default OUT: tests/data/net_graph_golden.txt beside this script's checkout)

The network (float64 throughout, torch 1.13 CPU), state-dict names as
torchvision's ResNet spells them:
    stem:    conv1 3x3 pad 1 (1->4, no bias) - bn1 - ReLU                 [4, 8, 8]
    layer1.0 (resnet8.BasicBlock, 4->8, stride 2):
             conv1 3x3 stride 2 - bn1 - ReLU - conv2 3x3 - bn2, plus
             downsample.0 (1x1 conv stride 2, no bias) - downsample.1 (BN),
             added, then ReLU                                             [8, 4, 4]
    proj:    1x1 conv of the block's output (8->4, bias) - ReLU           [4, 4, 4]
    side:    2x2 average pool (stride 2) of the stem's output             [4, 4, 4]
    concat(block, proj, side) along the channels                          [16, 4, 4]
    global average pool - flatten - dropout(p=0) - fc (16->10)
mean softmax cross-entropy, inputs [4, 1, 8, 8]. The stem's output has three
readers (the block's conv1, its downsample and the average pool) and the
block's output two (proj and the concatenation), so their gradients are sums
of several backward paths. SGD(lr=0.05, momentum=0.9, weight_decay=5e-4);
BatchNorm eps 1e-5, momentum 0.1.

Initial parameters are multiples of 2^-12 and inputs multiples of 2^-10, so a
float32 implementation starts from exactly the same numbers. The records
are those of gen_net_golden.py: per step s (1..3) step<s>.loss,
step<s>.grad.<param>, step<s>.<param> and step<s>.<bn>.running_mean /
running_var (after the step), then eval.logits of an eval-mode forward of x4.

The script also replays the steps in float32 and prints the largest
float32-vs-float64 difference per kind (the C test's bounds come from it), and
checks that no ReLU input lies close enough to 0 for float32 rounding to flip
it. Format: tests/data/golden/README.md (v1). Same seed and BLAS -> the
same file (the BLAS may change the last bits of a float64 sum).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_net_golden import print_float32_errors, qrand, tensor_lines  # noqa: E402
from resnet8 import BasicBlock  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "tests", "data", "net_graph_golden.txt")
N, H, W, CLASSES = 4, 8, 8, 10
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
BN_EPS, BN_MOMENTUM = 1e-5, 0.1
STEPS = 3
BATCHNORMS = ("bn1", "layer1.0.bn1", "layer1.0.bn2", "layer1.0.downsample.1")


class ProbedBlock(BasicBlock):
    """resnet8's BasicBlock, keeping its ReLUs' inputs for the tie check."""

    def forward(self, x):
        inner = self.bn1(self.conv1(x))
        out = self.bn2(self.conv2(F.relu(inner)))
        joined = out + self.downsample(x)
        self.probes = [inner.detach(), joined.detach()]
        return F.relu(joined)


class GraphNet(nn.Module):
    """Modules registered in the order libclcnn adds the layers, so both
    list the parameters in the same (state-dict) order."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.layer1 = nn.Sequential(ProbedBlock(4, 8, 2))
        self.proj = nn.Conv2d(8, 4, 1, bias=True)
        self.drop = nn.Dropout(p=0.0)
        self.fc = nn.Linear(16, CLASSES)
        self.probes = []

    def forward(self, x):
        stem_in = self.bn1(self.conv1(x))
        stem = F.relu(stem_in)
        block = self.layer1(stem)
        proj_in = self.proj(block)
        side = F.avg_pool2d(stem, 2)
        joined = torch.cat([block, F.relu(proj_in), side], dim=1)
        pooled = F.adaptive_avg_pool2d(joined, 1).flatten(1)
        self.probes = [stem_in.detach(), proj_in.detach()] + self.layer1[0].probes
        return self.fc(self.drop(pooled))


def make_data():
    rng = np.random.default_rng(20261216)
    init = {
        "conv1.weight": qrand(rng, (4, 1, 3, 3), -0.6, 0.6, 12),
        "bn1.weight": qrand(rng, (4,), 0.5, 1.5, 12),
        "bn1.bias": qrand(rng, (4,), -0.25, 0.25, 12),
        "layer1.0.conv1.weight": qrand(rng, (8, 4, 3, 3), -0.3, 0.3, 12),
        "layer1.0.bn1.weight": qrand(rng, (8,), 0.5, 1.5, 12),
        "layer1.0.bn1.bias": qrand(rng, (8,), -0.25, 0.25, 12),
        "layer1.0.conv2.weight": qrand(rng, (8, 8, 3, 3), -0.2, 0.2, 12),
        "layer1.0.bn2.weight": qrand(rng, (8,), 0.5, 1.5, 12),
        "layer1.0.bn2.bias": qrand(rng, (8,), -0.25, 0.25, 12),
        "layer1.0.downsample.0.weight": qrand(rng, (8, 4, 1, 1), -0.5, 0.5, 12),
        "layer1.0.downsample.1.weight": qrand(rng, (8,), 0.5, 1.5, 12),
        "layer1.0.downsample.1.bias": qrand(rng, (8,), -0.25, 0.25, 12),
        "proj.weight": qrand(rng, (4, 8, 1, 1), -0.4, 0.4, 12),
        "proj.bias": qrand(rng, (4,), -0.2, 0.2, 12),
        "fc.weight": qrand(rng, (CLASSES, 16), -0.5, 0.5, 12),
        "fc.bias": qrand(rng, (CLASSES,), -0.2, 0.2, 12),
    }
    xs = [qrand(rng, (N, 1, H, W), -2, 2, 10) for _ in range(STEPS + 1)]
    labels = [torch.from_numpy(rng.integers(0, CLASSES, size=N).astype(np.int64)) for _ in range(STEPS)]
    return init, xs, labels


def run(dtype, init, xs, labels):
    """Three SGD steps and an eval forward; returns (records, smallest |ReLU input|)."""
    torch.manual_seed(0)
    net = GraphNet().to(dtype)
    names = [name for name, _ in net.named_parameters()]
    if names != list(init):
        sys.exit(f"the module's parameters {names} are not the initial values' {list(init)}")
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(init[name].to(dtype))
    modules = dict(net.named_modules())
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    rec, margin = [], float("inf")

    def track():
        nonlocal margin
        for t in net.probes:
            margin = min(margin, float(t.double().abs().min()))

    net.train()
    for s in range(STEPS):
        opt.zero_grad()
        logits = net(xs[s].to(dtype))
        track()
        loss = F.cross_entropy(logits, labels[s])
        loss.backward()
        p = f"step{s + 1}."
        rec.append((p + "loss", loss.detach()))
        for name, prm in net.named_parameters():
            rec.append((p + "grad." + name, prm.grad.detach().clone()))
        opt.step()
        for name, prm in net.named_parameters():
            rec.append((p + name, prm.detach().clone()))
        for bn in BATCHNORMS:
            m = modules[bn]
            rec.append((p + bn + ".running_mean", m.running_mean.clone()))
            rec.append((p + bn + ".running_var", m.running_var.clone()))
    net.eval()
    with torch.no_grad():
        logits = net(xs[STEPS].to(dtype))
        track()
    rec.append(("eval.logits", logits.detach()))
    return rec, margin


def write(path, init, xs, labels, rec):
    lines = [
        "# libclcnn golden vectors, format v1 (see tests/data/golden/README.md)",
        f"# generated by hosttools/pytorch/gen_graph_golden.py with torch {torch.__version__} in float64",
        "# Three SGD steps of a small graph network (stem conv1-bn1-relu; layer1.0: a BasicBlock",
        "# 4->8 stride 2 with downsample; proj: 1x1 conv-relu of the block; side: avg pool 2 of the",
        "# stem; concat(block, proj, side); global avg pool; dropout(0); fc), mean softmax",
        "# cross-entropy, then an eval forward. Records as in net_step_golden.txt.",
        "case net_graph_step",
    ]
    for k, v in (("lr", LR), ("momentum", MOMENTUM), ("weight_decay", WEIGHT_DECAY),
                 ("bn_eps", BN_EPS), ("bn_momentum", BN_MOMENTUM), ("steps", STEPS)):
        lines.append(f"param {k} {v}")
    for name, t in init.items():
        lines.extend(tensor_lines("init." + name, t))
    for s in range(STEPS + 1):
        lines.extend(tensor_lines(f"x{s + 1}", xs[s]))
    for s in range(STEPS):
        lines.extend(tensor_lines(f"labels{s + 1}", labels[s]))
    for name, t in rec:
        lines.extend(tensor_lines(name, t))
    lines.append("end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.set_num_threads(1)
    init, xs, labels = make_data()
    rec64, margin64 = run(torch.float64, init, xs, labels)
    rec32, margin32 = run(torch.float32, init, xs, labels)
    print(f"smallest |ReLU input|: float64 {margin64:.3g}, float32 {margin32:.3g}")
    if min(margin64, margin32) < 1e-4:
        sys.exit("a ReLU decision is too close to a tie; change the seed")
    print_float32_errors(rec64, rec32)
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.abspath(OUT)
    write(out, init, xs, labels, rec64)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
