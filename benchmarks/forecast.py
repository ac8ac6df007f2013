"""Forecasting benchmarks on the embedded airline-passengers series.

    python benchmarks/forecast.py                 # wall-clock of `lstmkit forecast` (defaults), 3 runs
    python benchmarks/forecast.py --defaults      # how the Forecaster's defaults were chosen (about 2 minutes)

The first times the whole command (a fresh process each run: imports, 10 backtest fits, the final fit,
writing the five files) and prints its own result table. The second fits candidate settings on 1949-1958
(forecasting 1959) and on 1949-1959 (forecasting 1960) with seeds 0, 1, 2 and prints the RMSE of each next
to the seasonal-naive forecast's.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from report import cpu_model  # benchmarks/ is on the path: this file runs as a script

CANDIDATES = {
    "default: seasonal difference (auto), direct": {},
    "the same, recursive": {"strategy": "recursive"},
    "first difference, direct": {"difference": 1, "seasonal_difference": False},
    "log + first difference, direct": {"log": True, "difference": 1, "seasonal_difference": False},
    "log + seasonal difference, direct": {"log": True},
    "no differencing, direct": {"difference": 0, "seasonal_difference": False},
    "no differencing, recursive": {"difference": 0, "seasonal_difference": False, "strategy": "recursive"},
    "default, lookback 12": {"lookback": 12},
    "default, lookback 36": {"lookback": 36},
    "default, 200 epochs": {"epochs": 200},
    "default, LSTM(64)": {"units": 64},
}


def defaults_table(seeds=(0, 1, 2)) -> str:
    import torch

    from lstmkit.forecasting import Forecaster, default_model, load_airline, rmse, seasonal_naive

    torch.set_num_threads(1)
    series = load_airline()
    splits = {"1959": (series[:-24], series[-24:-12]), "1960": (series[:-12], series[-12:])}
    lines = [
        "| settings | RMSE 1959 (seeds 0, 1, 2) | RMSE 1960 (seeds 0, 1, 2) | worst / seasonal naive | s per fit |",
        "|---|---|---|---|---|",
    ]
    naive = {year: rmse(test, seasonal_naive(train, 12, 12)) for year, (train, test) in splits.items()}
    lines.append(f"| seasonal naive | {naive['1959']:.1f} | {naive['1960']:.1f} | 1.00 | |")
    for name, settings in CANDIDATES.items():
        settings = dict(settings)
        units = settings.pop("units", None)
        if units:
            settings["model"] = functools.partial(default_model, units=units)
        cells, worst, seconds = {}, 0.0, []
        for year, (train, test) in splits.items():
            scores = []
            for seed in seeds:
                forecaster = Forecaster(seed=seed, **settings).fit(train)
                seconds.append(forecaster.state_.seconds)
                scores.append(rmse(test, forecaster.predict()))
                worst = max(worst, scores[-1] / naive[year])
            cells[year] = " / ".join(f"{s:.1f}" for s in scores)
        lines.append(f"| {name} | {cells['1959']} | {cells['1960']} | {worst:.2f} | {np.mean(seconds):.1f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def time_command(runs: int) -> str:
    import resource

    command = [sys.executable, "-m", "lstmkit", "forecast"]
    times, cpu, metrics = [], [], None
    for run in range(runs):
        with tempfile.TemporaryDirectory() as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([*command, "--out", out], check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            with open(os.path.join(out, "metrics.json")) as handle:
                metrics = json.load(handle)
        print(
            f"run {run + 1}: {times[-1]:.1f} s wall-clock, {cpu[-1]:.1f} s CPU", file=sys.stderr, flush=True
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        (
            f"`lstmkit forecast` (embedded airline data, default settings): wall-clock {min(times):.1f} s best, "
            f"{np.median(times):.1f} s median of {runs} runs; CPU time (user + system) {np.median(cpu):.1f} s; "
            f"{os.cpu_count()} CPU cores, {cpu_model()}, load average {load:.1f} "
            "when done"
        ),
        "",
        "| method | MAE | RMSE | MAPE % | sMAPE % | MASE |",
        "|---|---|---|---|---|---|",
    ]
    for method, row in metrics["backtest"]["metrics"].items():
        lines.append(
            f"| {method} | {row['MAE']:.1f} | {row['RMSE']:.1f} | {row['MAPE']:.1f} | {row['sMAPE']:.1f} | "
            f"{row['MASE']:.2f} |"
        )
    intervals = metrics["intervals"]
    lines.append("")
    lines.append(
        f"{intervals['coverage']:.0%} conformal intervals: {intervals['achieved_backtest']:.1%} of the backtest's "
        "actual values inside (each cut calibrated on the others)."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--defaults", action="store_true", help="compare candidate default settings")
    parser.add_argument("--runs", type=int, default=3, help="runs of the command to time (default 3)")
    args = parser.parse_args(argv)
    print(defaults_table() if args.defaults else time_command(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
