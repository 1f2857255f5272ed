#!/usr/bin/env python3
"""Runs the benchmark suite of docs/benchmarks.md through PyTorch, on the CPU
and on CUDA when present (TF32 off), with clcnn-bench's names and JSON shape,
so that compare.py can set the two side by side. Each figure is the median
of --repeats runs after a warm-up.

Byte counts behind gbps: copy reads and writes 256 MiB; bn_train_fwd_bwd
counts x and y forward, x, dy and dx backward (5 passes over the tensor);
dropout_fwd_bwd counts x, y, dy and dx (4 passes; the mask is not counted)."""
import argparse
import ctypes
import fnmatch
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet8 import ResNet8  # noqa: E402
from seednet import SeedNet  # noqa: E402

MIB = 1 << 20
BATCH = 128
WARMUP_RUNS = 2
# glibc: 32 MiB is the largest mmap threshold it accepts; never trim the heap.
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20),
                   "MALLOC_TRIM_THRESHOLD_": str(2 ** 31 - 1), "MALLOC_TOP_PAD_": str(1 << 30)}
# name -> (N, C, K, H, W) of a 3x3, pad 1 convolution
CONV_SHAPES = {"a": (64, 64, 64, 32, 32), "b": (32, 128, 128, 16, 16), "c": (128, 32, 64, 14, 14)}


# --------------------------------------------------------------- benchmarks
# Each maker returns (run, unit, amount): a callable measured as one sample,
# and "gbps" with bytes moved, "gflops" with flops, or "ms" with None.

def copy_bench(device):
    source = torch.full((256 * MIB // 4,), 1.5, device=device)
    target = torch.empty_like(source)
    return lambda: target.copy_(source), "gbps", 2 * 256 * MIB


def gemm_bench(device):
    a, b = (torch.randn(1024, 1024, device=device) for _ in range(2))
    return lambda: torch.mm(a, b), "gflops", 2 * 1024 ** 3


def conv_bench(shape, kind):
    def make(device):
        n, c, k, h, w = shape
        x = torch.randn(n, c, h, w, device=device)
        weight = torch.randn(k, c, 3, 3, device=device)
        dy = torch.randn(n, k, h, w, device=device)
        run = {"fwd": lambda: F.conv2d(x, weight, padding=1),
               "bwd_data": lambda: torch.nn.grad.conv2d_input(x.shape, weight, dy, padding=1),
               "bwd_weights": lambda: torch.nn.grad.conv2d_weight(x, weight.shape, dy, padding=1)}
        return run[kind], "gflops", 2 * n * k * h * w * c * 9
    return make


def bn_bench(device):
    x = torch.randn(BATCH, 64, 32, 32, device=device, requires_grad=True)
    gamma = torch.ones(64, device=device, requires_grad=True)
    beta = torch.zeros(64, device=device, requires_grad=True)
    mean, var = torch.zeros(64, device=device), torch.ones(64, device=device)
    dy = torch.randn_like(x)

    def run():
        y = F.batch_norm(x, mean, var, gamma, beta, training=True)
        torch.autograd.grad(y, (x, gamma, beta), dy)
    return run, "gbps", 5 * x.numel() * 4


def dropout_bench(device):
    x = torch.randn(BATCH, 64, 32, 32, device=device, requires_grad=True)
    dy = torch.randn_like(x)
    return lambda: torch.autograd.grad(F.dropout(x, 0.5, True), x, dy), "gbps", 4 * x.numel() * 4


def net_bench(channels, size, train, resnet=False):
    def make(device):
        model = (ResNet8(channels) if resnet else SeedNet(channels, size, size)).to(device)
        x = torch.randn(BATCH, channels, size, size, device=device)
        labels = torch.randint(0, 10, (BATCH,), device=device)
        if not train:
            model.eval()
            return lambda: model(x), "ms", None
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

        def step():
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), labels).backward()
            optimizer.step()
        return step, "ms", None
    return make


BENCHMARKS = [("copy", copy_bench), ("gemm_1024", gemm_bench)]
BENCHMARKS += [(f"conv_{c}_{kind}", conv_bench(CONV_SHAPES[c], kind))
               for c in "abc" for kind in ("fwd", "bwd_data", "bwd_weights")]
BENCHMARKS += [("bn_train_fwd_bwd", bn_bench), ("dropout_fwd_bwd", dropout_bench),
               ("net_fmnist_train_step", net_bench(1, 28, True)),
               ("net_fmnist_infer", net_bench(1, 28, False)),
               ("net_cifar_train_step", net_bench(3, 32, True)),
               ("net_cifar_infer", net_bench(3, 32, False)),
               ("net_resnet8_train_step", net_bench(1, 28, True, resnet=True)),
               ("net_resnet8_infer", net_bench(1, 28, False, resnet=True))]


# ------------------------------------------------------------------ running

def selected(pattern, name):
    """clcnn-bench's --filter: comma-separated substrings, or globs when a
    pattern holds * ? or [."""
    if not pattern:
        return True
    for part in pattern.split(","):
        glob = any(ch in part for ch in "*?[")
        if (glob and fnmatch.fnmatchcase(name, part)) or (not glob and part in name):
            return True
    return False


def sample_ms(run, device):
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1e3


def measure(name, make, device, repeats):
    run, unit, amount = make(device)
    with torch.inference_mode(name.endswith("_infer")):
        for _ in range(WARMUP_RUNS):
            run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        ms = statistics.median(sample_ms(run, device) for _ in range(repeats))
    result = {"name": name, "ms": ms}
    if unit != "ms":
        result[unit] = amount / (ms * 1e6)
    result["samples"] = repeats
    return result


def blas_libraries():
    """The BLAS libraries this process loaded: Debian's torch calls libblas.so.3
    for matrix products, and Debian's default is the slow reference BLAS."""
    try:
        with open("/proc/self/maps") as f:
            return sorted({line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]})
    except OSError:
        return []


def set_threads(threads):
    """PyTorch's threads, and OpenBLAS's, which torch.set_num_threads leaves alone."""
    torch.set_num_threads(threads)
    for path in blas_libraries():
        try:
            ctypes.CDLL(path).openblas_set_num_threads(threads)
        except (OSError, AttributeError):
            pass
    paths = blas_libraries()
    if len(paths) == 1 and "/blas/libblas" in paths[0]:  # Debian's libblas3
        print(f"bench_torch: torch uses the reference BLAS {paths[0]}: gemm and dense layers"
              " run far below the published figures; see README.md", file=sys.stderr)
    return ", ".join(os.path.basename(path) for path in paths) or "built in"


def keep_freed_memory():
    """Runs this script again with glibc told to keep freed memory mapped.
    PyTorch allocates every output afresh, and where page faults are dear
    (virtual machines) faulting in new pages each call can cost more than the
    operation: bn_train_fwd_bwd took 330-470 ms with glibc's defaults and
    56-200 ms with these settings, on a loaded 2-core VM of the reference kind."""
    if all(os.environ.get(key) == value for key, value in MALLOC_SETTINGS.items()):
        return
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_SETTINGS})


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def devices(threads, blas, freed_memory):
    found = [(torch.device("cpu"), {"name": cpu_name(), "type": "cpu", "threads": threads,
                                    "blas": blas, "freed_memory": freed_memory})]
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        found.append((torch.device("cuda"), {"name": torch.cuda.get_device_name(), "type": "gpu",
                                             "cudnn": torch.backends.cudnn.version()}))
    return found


def print_result(r):
    figure = next((f"{r[unit]:8.1f} {unit}" for unit in ("gflops", "gbps") if unit in r), "")
    print(f"  {r['name']:<22} {r['ms']:10.3f}  {figure:>15}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=10, help="samples, median reported")
    parser.add_argument("--filter", help="benchmarks whose name contains PATTERN (or glob)")
    parser.add_argument("--no-cuda", action="store_true", help="CPU only")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc's malloc settings alone (see keep_freed_memory)")
    args = parser.parse_args()
    if not args.system_malloc:
        keep_freed_memory()
    blas = set_threads(args.threads)
    freed_memory = "system" if args.system_malloc else "kept"
    torch.manual_seed(0)
    chosen = [(name, make) for name, make in BENCHMARKS if selected(args.filter, name)]
    if not chosen:
        parser.error(f"no benchmark matches --filter {args.filter}")
    document = {"library": "pytorch", "version": torch.__version__, "repeats": args.repeats,
                "devices": []}
    for device, info in devices(args.threads, blas, freed_memory):
        if args.no_cuda and device.type == "cuda":
            continue
        if not args.json:
            print(f"\n== {info['name']} ({info['type']}, torch {torch.__version__}) ==")
            print(f"  {'name':<22} {'ms':>10}  {'figure':>15}")
        results = []
        for name, make in chosen:
            results.append(measure(name, make, device, args.repeats))
            if not args.json:
                print_result(results[-1])
        document["devices"].append({"device": info, "results": results})
    if args.json:
        print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
