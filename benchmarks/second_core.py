"""Does the second core pay for a step-loop LSTM? One training step of medium-generic's batch (128 × 50 × 8
-> LSTM(64, relu) -> Dense(1)) on one thread, against the same step with the batch split in two halves
whose forward and backward passes run concurrently in two Python threads of one intra-op thread each
(torch releases the GIL inside its operations; the gradients of the halves add up in the parameters'
.grad, each half's loss weighted by its share of the batch, so the update is the same).

    python benchmarks/second_core.py [--repeats 5] [--steps 10]

A third variant is what fit does on a quiet machine: the whole batch on two intra-op threads.
Prints the wall time per step of each, interleaved, and checks that the two give the same gradients.
Run it on a quiet machine: with the other core busy the split can only lose.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential
    from lstmkit.training.backward import backward

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((128, 50, 8), dtype=np.float32))
    y = torch.from_numpy(rng.standard_normal((128, 1), dtype=np.float32))
    model = Sequential([LSTM(64, activation="relu", input_shape=(50, 8)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.build((None, 50, 8))
    loss_of, params = model.compiled.loss_value, model.trainable_parameters()
    pool = ThreadPoolExecutor(2)

    def gradients_whole():
        for p in params:
            p.grad = None
        backward(loss_of(y, model(x, training=True)))

    def half(rows, share):
        torch.set_num_threads(1)
        backward(loss_of(y[rows], model(x[rows], training=True)) * share)

    def gradients_split():
        for p in params:
            p.grad = None
        for done in [pool.submit(half, slice(0, 64), 0.5), pool.submit(half, slice(64, 128), 0.5)]:
            done.result()

    def gradients_whole_two_threads():  # what fit does on a quiet machine (training/threads.py)
        torch.set_num_threads(2)
        try:
            gradients_whole()
        finally:
            torch.set_num_threads(1)

    gradients_whole()
    whole = [p.grad.clone() for p in params]
    gradients_split()
    worst = max(float((p.grad - g).abs().max() / (g.abs().max() + 1e-12)) for p, g in zip(params, whole))
    seconds = {
        "one thread, whole batch": [],
        "two threads, two halves": [],
        "two intra-op threads, whole batch": [],
    }
    for _ in range(args.repeats):
        for name, fn in zip(seconds, (gradients_whole, gradients_split, gradients_whole_two_threads)):
            start = time.perf_counter()
            for _ in range(args.steps):
                fn()
            seconds[name].append((time.perf_counter() - start) / args.steps)
    for name, values in seconds.items():
        print(f"{name}: {1e3 * statistics.median(values):.1f} ms per forward + backward")
    a, b, c = (statistics.median(v) for v in seconds.values())
    print(
        f"speed-up over one thread: split {a / b:.2f}×, two intra-op threads {a / c:.2f}×; "
        f"largest relative gradient difference of the split {worst:.1e}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
