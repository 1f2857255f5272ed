#!/usr/bin/env python3
"""
gen_net_golden.py -- end-to-end golden of three SGD training steps of a small
network with the seed network's layer kinds and order, for tests/test_net_golden.c.

    /usr/bin/python3 hosttools/pytorch/gen_net_golden.py [OUT]
        (default OUT: tests/data/net_step_golden.txt beside this script's checkout)

The network (float64 throughout, torch 1.13 CPU):
    conv1 3x3 pad 1 (1->4, bias) - bn1 - ReLU - max pool 2 -
    conv2 3x3 pad 1 (4->6, bias) - bn2 - ReLU - max pool 2 -
    flatten - fc1 (24->8) - ReLU - dropout(p=0) - fc2 (8->10),
mean softmax cross-entropy, inputs [4, 1, 8, 8].
SGD(lr=0.05, momentum=0.9, weight_decay=5e-4); BatchNorm eps 1e-5, momentum 0.1.

Initial parameters are multiples of 2^-12 and inputs multiples of 2^-10, so a
float32 implementation starts from exactly the same numbers.  Per step s (1..3):
zero_grad, forward of batch x<s>, loss, backward, step; recorded are
step<s>.loss, step<s>.grad.<param>, step<s>.<param> (after the step) and
step<s>.<bn>.running_mean / running_var (after the step).  Finally an
eval-mode forward of batch x4 gives eval.logits.

The script also replays the same three steps in float32 (torch) and prints the
largest float32-vs-float64 difference per kind of tensor (the tolerance of the
C test is set from it), and checks that no ReLU input and no max-pool window
lies close enough to a tie for float32 rounding to flip a decision.
Format: tests/data/golden/README.md (v1).  Same seed -> byte-identical file.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "net_step_golden.txt")
N, H, W, CLASSES = 4, 8, 8, 10
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
BN_EPS, BN_MOMENTUM = 1e-5, 0.1
STEPS = 3


class SmallSeedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(4, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(6, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.fc1 = nn.Linear(6 * 2 * 2, 8)
        self.drop = nn.Dropout(p=0.0)
        self.fc2 = nn.Linear(8, CLASSES)
        self.probes = []  # (kind, tensor) of the decisions of the last forward

    def forward(self, x):
        self.probes = []
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2)):
            x = bn(conv(x))
            self.probes.append(("relu", x.detach()))
            x = F.relu(x)
            self.probes.append(("pool", x.detach()))
            x = F.max_pool2d(x, 2)
        x = self.fc1(torch.flatten(x, 1))
        self.probes.append(("relu", x.detach()))
        return self.fc2(self.drop(F.relu(x)))


def qrand(rng, shape, lo, hi, step_log2):
    s = 2 ** step_log2
    return torch.from_numpy(rng.integers(int(lo * s), int(hi * s), size=shape).astype(np.float64) / s)


def make_data():
    rng = np.random.default_rng(20261128)
    init = {
        "conv1.weight": qrand(rng, (4, 1, 3, 3), -0.6, 0.6, 12),
        "conv1.bias": qrand(rng, (4,), -0.3, 0.3, 12),
        "bn1.weight": qrand(rng, (4,), 0.5, 1.5, 12),
        "bn1.bias": qrand(rng, (4,), -0.25, 0.25, 12),
        "conv2.weight": qrand(rng, (6, 4, 3, 3), -0.3, 0.3, 12),
        "conv2.bias": qrand(rng, (6,), -0.2, 0.2, 12),
        "bn2.weight": qrand(rng, (6,), 0.5, 1.5, 12),
        "bn2.bias": qrand(rng, (6,), -0.25, 0.25, 12),
        "fc1.weight": qrand(rng, (8, 24), -0.4, 0.4, 12),
        "fc1.bias": qrand(rng, (8,), -0.2, 0.2, 12),
        "fc2.weight": qrand(rng, (10, 8), -0.5, 0.5, 12),
        "fc2.bias": qrand(rng, (10,), -0.2, 0.2, 12),
    }
    xs = [qrand(rng, (N, 1, H, W), -2, 2, 10) for _ in range(STEPS + 1)]
    labels = [torch.from_numpy(rng.integers(0, CLASSES, size=N).astype(np.int64)) for _ in range(STEPS)]
    return init, xs, labels


def run(dtype, init, xs, labels):
    """Three SGD steps and an eval forward; returns (records, smallest decision margin)."""
    torch.manual_seed(0)
    net = SmallSeedNet().to(dtype)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(init[name].to(dtype))
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    rec, margin = [], float("inf")

    def track():
        nonlocal margin
        for kind, t in net.probes:
            t = t.double()
            if kind == "relu":
                margin = min(margin, float(t.abs().min()))
            else:  # gap between the largest and the runner-up of each positive 2x2 window
                win = t[..., : t.shape[2] // 2 * 2, : t.shape[3] // 2 * 2]
                win = win.unfold(2, 2, 2).unfold(3, 2, 2).reshape(*win.shape[:2], -1, 4)
                top = win.topk(2, dim=-1).values
                live = top[..., 0] > 0
                if live.any():
                    margin = min(margin, float((top[..., 0] - top[..., 1])[live].min()))

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
        for bn in ("bn1", "bn2"):
            m = getattr(net, bn)
            rec.append((p + bn + ".running_mean", m.running_mean.clone()))
            rec.append((p + bn + ".running_var", m.running_var.clone()))
    net.eval()
    with torch.no_grad():
        logits = net(xs[STEPS].to(dtype))
        track()
    rec.append(("eval.logits", logits.detach()))
    return rec, margin


def tensor_lines(name, t):
    """The lines of tensor `name` in format v1: f64 values with %.17g, i64 as integers."""
    a = t.detach().numpy()
    dt = "i64" if a.dtype == np.int64 else "f64"
    lines = [f"tensor {name} {dt} {a.ndim}" + "".join(f" {d}" for d in a.shape)]
    flat = a.reshape(-1)
    per = 6 if dt == "f64" else 16
    fmt = (lambda v: format(float(v), ".17g")) if dt == "f64" else (lambda v: str(int(v)))
    for i in range(0, flat.size, per):
        lines.append(" ".join(fmt(v) for v in flat[i:i + per]))
    return lines


def print_float32_errors(rec64, rec32):
    """Prints the largest float32-vs-float64 |d| / (1 + |ref|) per kind of record."""
    worst = {}
    for (name, a), (_, b) in zip(rec64, rec32):
        kind = "loss" if name.endswith("loss") else "grad" if ".grad." in name else \
            "running" if "running" in name else "logits" if "logits" in name else "param"
        d = (a - b.double()).abs()
        e = float((d / (1 + a.abs())).max())
        if e > worst.get(kind, (0, ""))[0]:
            worst[kind] = (e, name)
    for kind, (e, name) in sorted(worst.items()):
        print(f"float32 vs float64, max |d|/(1+|ref|): {kind:8s} {e:.3g}  ({name})")


def write(path, init, xs, labels, rec):
    lines = [
        "# libclcnn golden vectors, format v1 (see tests/data/golden/README.md)",
        f"# generated by hosttools/pytorch/gen_net_golden.py with torch {torch.__version__} in float64",
        "# Three SGD steps of a small seed-like network (conv1-bn1-relu-pool-conv2-bn2-relu-pool-",
        "# flatten-fc1-relu-dropout(0)-fc2, mean softmax cross-entropy), then an eval forward.",
        "# init.<param>: initial parameters; x1..x3, labels1..labels3: training batches;",
        "# x4: eval batch. step<s>.grad.<param>: gradient of step s (before the update);",
        "# step<s>.<param>, step<s>.bn*.running_*: values after step s.",
        "case net_step",
    ]
    for k, v in (("lr", LR), ("momentum", MOMENTUM), ("weight_decay", WEIGHT_DECAY),
                 ("bn_eps", BN_EPS), ("bn_momentum", BN_MOMENTUM), ("steps", STEPS)):
        lines.append(f"param {k} {v}")

    def tensor(name, t):
        lines.extend(tensor_lines(name, t))

    for name, t in init.items():
        tensor("init." + name, t)
    for s in range(STEPS + 1):
        tensor(f"x{s + 1}", xs[s])
    for s in range(STEPS):
        tensor(f"labels{s + 1}", labels[s])
    for name, t in rec:
        tensor(name, t)
    lines.append("end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.set_num_threads(1)
    init, xs, labels = make_data()
    rec64, margin64 = run(torch.float64, init, xs, labels)
    rec32, margin32 = run(torch.float32, init, xs, labels)
    print(f"smallest ReLU input / max-pool gap: float64 {margin64:.3g}, float32 {margin32:.3g}")
    if min(margin64, margin32) < 1e-4:
        sys.exit("a ReLU or max-pool decision is too close to a tie; change the seed")
    print_float32_errors(rec64, rec32)
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.abspath(OUT)
    write(out, init, xs, labels, rec64)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
