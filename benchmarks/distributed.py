"""Data-parallel throughput: 1 process against 2 (torchrun), on the shapes of the `medium` workload.

    python benchmarks/distributed.py                  # 8192 x 50 x 8 -> LSTM(64) -> Dense(1), 3 epochs, 3 repeats
    python benchmarks/distributed.py --quick          # 2048 x 10 x 8, 1 repeat: a smoke test, not a measurement
    python benchmarks/distributed.py --json out.json --repeats 5

Every configuration runs as its own ``torchrun`` launch (also the 1-process ones, so that start-up is
alike), with ``batch_size=128`` per process, Adam and MSE as in `medium`. Rank 0 times each epoch
(from ``on_epoch_begin`` to ``on_epoch_end``, which comes after the epoch's closing all-reduce, so it
covers every process's steps); the first epoch is left out (one-time costs), and a configuration's
value is the median over its timed epochs and repeats. Throughput = training samples per second of
the whole job. Configurations are interleaved across repeats, so drifts of a shared machine hit all.

Threads: the processes share the machine's cores. ``1 process`` gets all of them; ``2 processes`` get
half each (``OMP_NUM_THREADS`` and ``LSTMKIT_NUM_THREADS`` are set for every launch, so lstmkit's
one-thread rule for small problems does not change the comparison). ``1 process, batch 256`` has the
global batch of 2 processes: it separates the gain from fewer, larger steps from the gain from
parallelism. On a machine with few cores two processes cannot do more arithmetic than one process
with all cores; they only win where one process leaves cores idle (small per-step work) — and they
pay an all-reduce per step. The report says what it measured; it does not extrapolate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
FEATURES, UNITS, BATCH = 8, 64, 128


def sizes(quick: bool) -> dict:
    if quick:
        return {"samples": 2048, "timesteps": 10, "epochs": 3}
    return {"samples": 8192, "timesteps": 50, "epochs": 3}


# ----------------------------------------------------------------------------- one launch (every rank)
def worker(args) -> None:
    import numpy as np
    import torch

    from lstmkit.callbacks import Callback
    from lstmkit.distributed import rank, world_size
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential
    from lstmkit.utils import set_random_seed

    cfg = sizes(args.quick)
    rng = np.random.default_rng(0)  # the same data in every process; fit gives each its share
    x = rng.standard_normal((cfg["samples"], cfg["timesteps"], FEATURES), dtype=np.float32)
    y = rng.standard_normal((cfg["samples"], 1), dtype=np.float32)
    set_random_seed(1)

    class EpochTimer(Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.start = [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - self.start)

    model = Sequential([LSTM(UNITS, input_shape=(cfg["timesteps"], FEATURES)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    timer = EpochTimer()
    history = model.fit(x, y, batch_size=args.batch, epochs=cfg["epochs"], verbose=0, callbacks=[timer])
    if rank() == 0:
        Path(args.result).write_text(
            json.dumps(
                {
                    "epoch_seconds": timer.seconds,
                    "loss": history.history["loss"][-1],
                    "world_size": world_size(),
                    "threads": torch.get_num_threads(),
                    "samples": cfg["samples"],
                }
            )
        )


# ----------------------------------------------------------------------------- the driver
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(processes: int, threads: int, batch: int, quick: bool, device: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            f"--master_port={_free_port()}",
            str(HERE),
            "--worker",
            "--result",
            str(result),
            "--batch",
            str(batch),
        ] + (["--quick"] if quick else [])
        env = dict(
            os.environ, OMP_NUM_THREADS=str(threads), LSTMKIT_NUM_THREADS=str(threads), LSTMKIT_DEVICE=device
        )
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(
                f"the {processes}-process launch failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return json.loads(result.read_text())


def configurations(cores: int, device: str) -> list[dict]:
    if device == "cuda":  # one GPU per process
        return [
            {"name": "1 process", "processes": 1, "threads": max(1, cores), "batch": BATCH},
            {"name": "2 processes", "processes": 2, "threads": max(1, cores // 2), "batch": BATCH},
        ]
    return [
        {"name": "1 process", "processes": 1, "threads": cores, "batch": BATCH},
        {
            "name": f"2 processes x {max(1, cores // 2)} thread(s)",
            "processes": 2,
            "threads": max(1, cores // 2),
            "batch": BATCH,
        },
        {
            "name": "1 process, batch 256 (the global batch of 2)",
            "processes": 1,
            "threads": cores,
            "batch": 2 * BATCH,
        },
        {
            "name": f"1 process x {max(1, cores // 2)} thread(s) (one process's share)",
            "processes": 1,
            "threads": max(1, cores // 2),
            "batch": BATCH,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 repeat: a smoke test only")
    parser.add_argument(
        "--repeats", type=int, default=None, help="launches per configuration (default 3; 1 with --quick)"
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--json", default=None, help="write every launch's raw result here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import torch

    repeats = args.repeats or (1 if args.quick else 3)
    cores = os.cpu_count() or 1
    if args.device == "cuda" and torch.cuda.device_count() < 2:
        sys.exit(
            f"--device cuda needs 2 GPUs (one per process); this machine has {torch.cuda.device_count()}."
        )
    configs = configurations(cores, args.device)
    runs: dict[str, list[dict]] = {c["name"]: [] for c in configs}
    for repeat in range(repeats):
        for c in configs:
            print(f"[{repeat + 1}/{repeats}] {c['name']} ...", file=sys.stderr, flush=True)
            runs[c["name"]].append(launch(c["processes"], c["threads"], c["batch"], args.quick, args.device))
    cfg = sizes(args.quick)
    print(
        f"# Data-parallel throughput{' (--quick: sizes too small to mean anything)' if args.quick else ''}\n"
    )
    print(
        f"{cfg['samples']} x {cfg['timesteps']} x {FEATURES} -> LSTM({UNITS}) -> Dense(1), Adam, MSE, "
        f"{cfg['epochs']} epochs (first not timed), {repeats} launch(es) per row; "
        f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}, "
        f"device {args.device}.\n"
    )
    print(
        "| configuration | processes x threads | batch per process (global) | s/epoch (median) | samples/s "
        "| vs 1 process |"
    )
    print("|---|---|---|---|---|---|")
    baseline = None
    for c in configs:
        seconds = statistics.median(s for run in runs[c["name"]] for s in run["epoch_seconds"][1:])
        rate = cfg["samples"] / seconds
        baseline = baseline or rate
        print(
            f"| {c['name']} | {c['processes']} x {runs[c['name']][0]['threads']} | {c['batch']} "
            f"({c['batch'] * c['processes']}) | {seconds:.3f} | {rate:,.0f} | {rate / baseline:.2f}x |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": cfg, "cores": cores, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
