"""Denormal floats in a long-sequence backward pass: how much they cost, and that lstmkit avoids it.

    python benchmarks/denormals.py [--timesteps 1000] [--repeats 3]

One training step of 64 × T × 4 -> LSTM(32) -> Dense(1) (the `long` workload's batch), forward and
backward through torch's fused LSTM kernel on one CPU thread, timed with denormals flushed and not,
interleaved; and lstmkit's ``train_on_batch`` on the same batch (it flushes inside). Also counts the
subnormal values in the gradient reaching the input: they are what makes the unflushed pass slow (each
arithmetic operation on one takes a microcode assist). Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

FEATURES, UNITS, BATCH = 4, 32, 64


def _subnormals(t: torch.Tensor) -> int:
    tiny = torch.finfo(t.dtype).tiny
    return int(((t != 0) & (t.abs() < tiny)).sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import lstmkit
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential

    lstmkit.set_device("cpu")
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, args.timesteps, FEATURES), dtype=np.float32)
    y_np = rng.standard_normal((BATCH, 1), dtype=np.float32)
    torch.manual_seed(0)
    lstm, dense = torch.nn.LSTM(FEATURES, UNITS, batch_first=True), torch.nn.Linear(UNITS, 1)
    x, y = torch.from_numpy(x_np).requires_grad_(), torch.from_numpy(y_np)

    def torch_step(flush: bool):
        torch.set_flush_denormal(flush)
        try:
            lstm.zero_grad(), dense.zero_grad()
            x.grad = None
            _, (h, _) = lstm(x)
            torch.nn.functional.mse_loss(dense(h[-1]), y).backward()
            return _subnormals(x.grad)
        finally:
            torch.set_flush_denormal(False)

    model = Sequential([LSTM(UNITS, input_shape=(args.timesteps, FEATURES)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    variants = {
        "torch, denormals not flushed": lambda: torch_step(False),
        "torch, denormals flushed": lambda: torch_step(True),
        "lstmkit train_on_batch": lambda: model.train_on_batch(x_np, y_np),
    }
    seconds = {name: [] for name in variants}
    counts = {}
    for fn in variants.values():
        fn()  # warm-up
    for _ in range(args.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            result = fn()
            seconds[name].append(time.perf_counter() - start)
            if isinstance(result, int):
                counts[name] = result
    base = statistics.median(seconds["torch, denormals not flushed"])
    print(
        f"T = {args.timesteps}, batch {BATCH}, LSTM({UNITS}), 1 thread, medians of {args.repeats} interleaved"
    )
    print()
    print("| step | s/step | slowdown vs fastest | subnormal values in the input gradient |")
    print("|---|---|---|---|")
    fastest = min(statistics.median(v) for v in seconds.values())
    for name, values in seconds.items():
        median = statistics.median(values)
        count = counts.get(name, "—")
        print(f"| {name} | {median:.3f} | {median / fastest:.1f}× | {count} |")
    print()
    print(f"unflushed / flushed: {base / statistics.median(seconds['torch, denormals flushed']):.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
