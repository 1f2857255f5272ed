#!/usr/bin/env python3
"""Runs clcnn-bench --json and then bench_torch.py --json and prints, for
every benchmark both report, the two figures, the ratio libclcnn / PyTorch
and the target of docs/benchmarks.md. Ratios are of throughput for
gflops/gbps figures (higher is better) and of time for ms figures (lower is
better)."""
import argparse
import fnmatch
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_TORCH = os.path.join(HERE, "bench_torch.py")
sys.path.insert(0, HERE)
from bench_torch import BENCHMARKS  # noqa: E402

# (name glob, target on a CPU, target on a GPU): (comparison, ratio) or a note
# where the target is not a ratio to PyTorch. Time ratios: bn and dropout
# "3x faster than PyTorch" is a time ratio of at most 1/3.
TARGETS = [
    ("net_*", ("≤", 1.0), ("≤", 0.5)),
    ("conv_*", ("≥", 0.5), ("≥", 0.5)),
    ("gemm_1024", ("≥", 0.5), ("≥", 0.5)),
    ("bn_train_fwd_bwd", ("≤", 1 / 3), "≥ 60 % of copy gbps"),
    ("dropout_fwd_bwd", ("≤", 1 / 3), "≥ 60 % of copy gbps"),
]


def headline(name):
    """The unit compared: throughput where the suite defines the work, else time."""
    if name == "copy":
        return "gbps"
    return "gflops" if name.startswith(("gemm_", "conv_")) else "ms"


def target(name, device_type):
    for pattern, cpu, gpu in TARGETS:
        if fnmatch.fnmatchcase(name, pattern):
            return gpu if device_type == "gpu" else cpu
    return None


def run_json(command):
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"compare: {command[0]} failed with status {result.returncode}")
    return json.loads(result.stdout)


def describe(goal, ratio):
    """(target text, "yes"/"NO"/"" for met) of a target against a ratio."""
    if goal is None:
        return "", ""
    if isinstance(goal, str):
        return goal, ""
    comparison, limit = goal
    met = ratio <= limit if comparison == "≤" else ratio >= limit
    return f"{comparison} {limit:.2f}x", "yes" if met else "NO"


def print_comparison(clcnn_device, torch_device):
    device_type = clcnn_device["device"].get("type", "")
    torch_results = {r["name"]: r for r in torch_device["results"]}
    other = torch_device["device"]
    blas = f", BLAS {other['blas']}" if other.get("blas") else ""
    print(f"\nlibclcnn on {clcnn_device['device'].get('name')} ({device_type}) vs "
          f"PyTorch on {other['name']} ({other['type']}{blas}); ratio = libclcnn / PyTorch")
    print(f"  {'name':<22} {'libclcnn':>10} {'PyTorch':>10} {'unit':<6} {'ratio':>7} "
          f"{'(of)':<10} {'target':<20} met")
    shown = 0
    for result in clcnn_device["results"]:
        name, unit = result["name"], headline(result["name"])
        other = torch_results.get(name)
        if other is None or unit not in result or unit not in other:
            continue
        ratio = result[unit] / other[unit]
        text, met = describe(target(name, device_type), ratio)
        kind = "time" if unit == "ms" else "throughput"
        print(f"  {name:<22} {result[unit]:10.3f} {other[unit]:10.3f} {unit:<6} {ratio:6.2f}x "
              f"{kind:<10} {text:<20} {met}")
        shown += 1
    if shown == 0:
        print("  (no benchmark in common)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clcnn-bench", required=True, metavar="PATH", help="clcnn-bench binary")
    parser.add_argument("--device", metavar="SPEC", help="clcnn-bench --device")
    parser.add_argument("--filter", metavar="P", help="benchmarks to run (clcnn-bench syntax)")
    parser.add_argument("--repeats", type=int, default=10, help="samples per benchmark")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    parser.add_argument("--save", metavar="DIR",
                        help="also write both documents there (clcnn.json, pytorch.json), "
                             "e.g. for clcnn-chart")
    args = parser.parse_args()
    command = [args.clcnn_bench, "--json", "--repeats", str(args.repeats)]
    command += ["--device", args.device] if args.device else []
    command += ["--filter", args.filter] if args.filter else []
    load_before = os.getloadavg()[0]
    clcnn = run_json(command)
    names = {r["name"] for d in clcnn["devices"] for r in d["results"]}
    names &= {name for name, _ in BENCHMARKS}
    if not names:
        sys.exit("compare: clcnn-bench reported no benchmark that bench_torch.py runs")
    types = {d["device"].get("type") for d in clcnn["devices"]}
    command = [sys.executable, BENCH_TORCH, "--json", "--repeats", str(args.repeats),
               "--threads", str(args.threads), "--filter", ",".join(sorted(names))]
    command += [] if "gpu" in types else ["--no-cuda"]
    pytorch = run_json(command)
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        for name, document in (("clcnn.json", clcnn), ("pytorch.json", pytorch)):
            with open(os.path.join(args.save, name), "w") as f:
                json.dump(document, f, indent=2)
    print(f"libclcnn {clcnn['version']}, PyTorch {pytorch['version']} "
          f"({args.threads} CPU threads), median of {args.repeats}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    if max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1) - args.threads + 0.5:
        print("warning: the machine was busy; PyTorch's CPU threads then wait for each other "
              "and its figures come out pessimistic (bench_torch.py --threads 1 shows it)")
    for device in clcnn["devices"]:
        wanted = "gpu" if device["device"].get("type") == "gpu" else "cpu"
        matches = [d for d in pytorch["devices"] if d["device"]["type"] == wanted]
        print_comparison(device, (matches or pytorch["devices"])[0])


if __name__ == "__main__":
    main()
