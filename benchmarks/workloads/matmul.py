"""matmul: the machine's float32 matrix-multiply peak, the physical reference for the GFLOP/s columns.

``torch.matmul`` of two n × n float32 matrices (n = 2048 on the CPU, 8192 on a GPU; 2·n³ FLOPs each),
repeated for at least half a second; the fastest product gives the peak. It runs on whatever threads torch
uses (``torch.get_num_threads()``, shown above the table). On a GPU, TF32 stays as torch's default
(off for matmul), so this is true float32.
"""

from __future__ import annotations

import time

from workloads._common import sync

NAME = "matmul"
TITLE = "float32 matmul peak: torch.matmul n × n (n = 2048 CPU, 8192 GPU), best of 1 and all threads"
MEASURE = "GFLOP/s"
KIND = "throughput"
IMPLEMENTATIONS = ("torch",)
ISOLATED = False
FLOP_FORMULA = "2·n³ per product"


def config(quick: bool) -> dict:
    return {
        "n_cpu": 512 if quick else 2048,
        "n_cuda": 1024 if quick else 8192,
        "min_seconds": 0.1 if quick else 1.0,
    }


def warmup(cfg: dict) -> dict:
    return {**cfg, "n_cpu": 128, "n_cuda": 128, "min_seconds": 0.0}


def _fastest(a, b, device: str, min_seconds: float) -> list[float]:
    import torch

    torch.matmul(a, b)
    sync(device)
    times, spent = [], 0.0
    while spent < min_seconds or len(times) < 3:
        start = time.perf_counter()
        torch.matmul(a, b)  # not out=: torch 2.13 takes a slow path for small CPU products with out=
        sync(device)
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


def run_torch(cfg: dict, device: str) -> dict:
    """The fastest product at one thread and at torch's thread count (CPU): the better is the peak. On a
    shared machine a second thread can be slower than one, which is how an earlier run reported half
    the machine's peak."""
    import torch

    n = cfg["n_cuda"] if device.startswith("cuda") else cfg["n_cpu"]
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    gflop = 2.0 * n**3 / 1e9
    threads = torch.get_num_threads()
    counts = [threads] if device.startswith("cuda") else sorted({1, threads})
    per_count = {}
    for count in counts:
        torch.set_num_threads(count)
        try:
            times = _fastest(a, b, device, cfg["min_seconds"])
        finally:
            torch.set_num_threads(threads)
        per_count[count] = {"best": gflop / min(times), "median": gflop / sorted(times)[len(times) // 2]}
    best = max(per_count, key=lambda c: per_count[c]["best"])
    return {
        "value": per_count[best]["best"],
        "gflop_per_s": per_count[best]["best"],
        "n": n,
        "threads": best,
        "per_thread_count": per_count,
    }
