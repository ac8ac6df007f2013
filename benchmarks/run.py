"""Run the benchmark workloads for lstmkit, a plain PyTorch loop and (when available) Keras.

    python benchmarks/run.py                     # every workload, 3 repeats
    python benchmarks/run.py --workloads seed --repeats 5
    python benchmarks/run.py --keras-python /path/to/venv/bin/python   # Keras from another environment

Implementations are interleaved (lstmkit, torch, keras, lstmkit, ...) so that slow drifts of the
machine hit all of them alike; each run is a fresh process, so no run inherits another's warm state.
The table gives medians and the ratio of each implementation's time to lstmkit's (> 1: lstmkit is
faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import WORKLOADS


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return (f"CPU: {cpu}; {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; "
            f"torch {torch.__version__}; device: {device}; Python {platform.python_version()}")


def run_one(python: str, workload: str, implementation: str) -> dict:
    """One timed run in a fresh interpreter; returns the workload's result dict."""
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); from workloads import WORKLOADS; "
            f"print('RESULT' + json.dumps(WORKLOADS[{workload!r}][{implementation!r}]()))")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    done = subprocess.run([python, "-c", code], check=False, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"{workload}/{implementation} failed:\n{done.stderr[-2000:]}")


def has_keras(python: str) -> bool:
    return subprocess.run([python, "-c", "import keras"], check=False, capture_output=True).returncode == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keras-python", default=sys.executable,
                        help="interpreter that can import keras (default: this one; skipped if it cannot)")
    args = parser.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}")
    implementations = {"lstmkit": sys.executable, "torch": sys.executable}
    if has_keras(args.keras_python):
        implementations["keras"] = args.keras_python

    print(machine())
    rows = []
    for name in names:
        results = {impl: [] for impl in implementations}
        for _ in range(args.repeats):
            for impl, python in implementations.items():
                if impl in WORKLOADS[name]:
                    results[impl].append(run_one(python, name, impl))
        medians = {impl: statistics.median(r["seconds"] for r in runs) for impl, runs in results.items() if runs}
        rows.append((name, medians))
        print(f"{name}: {WORKLOADS[name]['what']}: " + ", ".join(f"{i} {s:.3f}s" for i, s in medians.items()),
              flush=True)

    print()
    header = "| workload | " + " | ".join(f"{impl} (s)" for impl in implementations) + " | " + " | ".join(
        f"{impl} / lstmkit" for impl in implementations if impl != "lstmkit") + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, medians in rows:
        cells = [f"{medians[i]:.3f}" if i in medians else "n/a" for i in implementations]
        ratios = [f"{medians[i] / medians['lstmkit']:.2f}x" if i in medians else "n/a"
                  for i in implementations if i != "lstmkit"]
        print(f"| {name} | " + " | ".join(cells + ratios) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
