"""Benchmark suite: lstmkit against a hand-written plain PyTorch loop and (when installed) Keras.

    python benchmarks/run.py                                    # every workload, 3 repeats, best device
    python benchmarks/run.py --quick --repeats 1                # tiny sizes: a smoke test of the suite
    python benchmarks/run.py --workloads seed,window --repeats 5
    python benchmarks/run.py --keras-python /path/to/keras-venv/bin/python --json results.json

lstmkit and the plain PyTorch loop run in this process (each warmed up once, untimed, per workload, so
that one-time initialisation counts against neither); Keras runs in a subprocess of the interpreter that
has it (one per workload, warmed up likewise). The predict workload runs every implementation in a fresh
process, for clean memory numbers. Implementations are interleaved (lstmkit, torch, keras, lstmkit, ...)
so that drifts of a shared machine hit all of them alike. The report (stdout) is Markdown: the machine,
then one table of medians and ratios; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from activity import MachineActivity
from harness import execute
from report import machine_info, plot_scaling, render, write_into_readme
from workloads import WORKLOADS, load

IN_PROCESS = ("lstmkit", "lstmkit-jit", "torch")
MEMORY_KEYS = ("rss_extra_mb", "numpy_extra_mb", "cuda_extra_mb")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class WorkerDied(RuntimeError):
    pass


class Worker:
    """A worker.py subprocess answering jobs one at a time; its stderr goes to a log file."""

    def __init__(self, python: str, label: str):
        self.log_path = Path(tempfile.mkstemp(prefix=f"lstmkit-bench-{label}-", suffix=".log")[1])
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [python, str(HERE / "worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=HERE,
        )

    def request(self, job: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self._log.flush()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise WorkerDied(
                f"the worker process ended (exit code {self.proc.poll()}); its stderr ends:\n{tail}"
            )
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.log_path.unlink(missing_ok=True)


def can_import_keras(python: str) -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('keras') is None)"
    try:
        return (
            subprocess.run([python, "-c", probe], check=False, capture_output=True, timeout=60).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def one_shot(python: str, job: dict, label: str) -> dict:
    """One job in a fresh process."""
    worker = Worker(python, label)
    try:
        return worker.request(job)
    except WorkerDied as died:
        return {"status": "error", "error": str(died)}
    finally:
        worker.close()


def describe(result: dict, measure: str) -> str:
    if result["status"] == "skipped":
        return f"skipped ({result['reason']})"
    if result["status"] == "error":
        return "ERROR:\n" + result["error"]
    extra = f", loss {result['loss']:.4g}" if "loss" in result else ""
    extra += "".join(f", {k} {result[k]:.1f}" for k in MEMORY_KEYS if k in result)
    return f"{result['value']:.4g} {measure}{extra}"


def run_workload(name: str, args, pythons: dict) -> dict:
    """Warm up, then ``repeats`` interleaved rounds; returns the raw results of every run."""
    module = load(name)
    cfg = module.config(args.quick)
    impls = [impl for impl in module.IMPLEMENTATIONS if impl in pythons]
    runs = {impl: [] for impl in impls}
    job = {"workload": name, "config": cfg, "device": args.device}
    keras_worker = None
    dead = {}  # impl -> the result that ended it (skipped at warm-up, or a dead worker)
    try:
        if not module.ISOLATED:
            for impl in impls:
                warm = {**job, "impl": impl, "config": module.warmup(cfg)}
                if impl in IN_PROCESS:
                    result = execute(warm)
                else:
                    keras_worker = Worker(pythons[impl], f"{name}-{impl}")
                    try:
                        result = keras_worker.request(warm)
                    except WorkerDied as died:
                        result = {"status": "error", "error": str(died)}
                if result["status"] != "ok":
                    log(f"[{name}] warm-up {impl}: {describe(result, module.MEASURE)}")
                    dead[impl] = result
        for repeat in range(args.repeats):
            for impl in impls:
                if impl in dead:
                    runs[impl].append(dead[impl])
                    continue
                request = {**job, "impl": impl}
                if module.ISOLATED:
                    result = one_shot(pythons[impl], request, f"{name}-{impl}")
                elif impl in IN_PROCESS:
                    result = execute(request)
                else:
                    try:
                        result = keras_worker.request(request)
                    except WorkerDied as died:
                        result = {"status": "error", "error": str(died)}
                        dead[impl] = result
                runs[impl].append(result)
                log(f"[{name}] {repeat + 1}/{args.repeats} {impl}: {describe(result, module.MEASURE)}")
    finally:
        if keras_worker is not None:
            keras_worker.close()
    return {
        "title": module.TITLE,
        "measure": module.MEASURE,
        "kind": module.KIND,
        "config": cfg,
        "flop_formula": getattr(module, "FLOP_FORMULA", None),
        "runs": runs,
        "medians": {impl: summarise(results) for impl, results in runs.items()},
    }


def summarise(results: list) -> dict:
    """Medians over the successful runs; otherwise the reason nothing ran."""
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        first = results[0] if results else {"status": "skipped", "reason": "not run"}
        return {"status": first["status"], "reason": first.get("reason") or first.get("error", "").strip()}
    summary = {"status": "ok", "runs": len(ok), "failed_runs": len(results) - len(ok)}
    for key in ("value", "gflop_per_s", "compile_seconds", *MEMORY_KEYS):
        values = [r[key] for r in ok if r.get(key) is not None]
        if values:
            summary[key] = statistics.median(values)
    return summary


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, from: {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per implementation (default 3)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks that the suite runs, measures nothing"
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default=None,
        help="where lstmkit and torch compute (default: cuda if available, else cpu)",
    )
    parser.add_argument(
        "--keras-python",
        default=None,
        help="interpreter that can import keras (default: this one; Keras is left out when it cannot)",
    )
    parser.add_argument("--no-keras", action="store_true", help="leave Keras out even where it is installed")
    parser.add_argument(
        "--no-jit", action="store_true", help="leave out the lstmkit jit_compile=True column (no compiles)"
    )
    parser.add_argument("--json", metavar="PATH", help="also save every raw result to this JSON file")
    parser.add_argument(
        "--readme",
        metavar="PATH",
        help="also write the report into this Markdown file, between its <!-- benchmark:start --> and "
        "<!-- benchmark:end --> lines (README.md)",
    )
    parser.add_argument(
        "--plot",
        metavar="PNG",
        default=str(HERE / "scaling.png"),
        help="where the scaling workload's plot goes (default benchmarks/scaling.png; needs matplotlib)",
    )
    args = parser.parse_args(argv)
    args.names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown or not args.names:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; received {args.repeats}")
    import torch

    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but this torch build sees no CUDA device; use --device cpu")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    threads_before = torch.get_num_threads()
    import lstmkit  # noqa: F401 - imported before timing anything, and to see whether it changes torch's threads

    keras_python = None if args.no_keras else (args.keras_python or sys.executable)
    keras_missing = "--no-keras" if args.no_keras else ""
    if keras_python and not can_import_keras(keras_python):
        keras_missing = (
            f"`{keras_python}` cannot import keras; point --keras-python at an interpreter that can"
        )
        log(f"Keras left out: {keras_missing}")
        keras_python = None
    pythons = {"lstmkit": sys.executable, "torch": sys.executable}
    if not args.no_jit:
        pythons["lstmkit-jit"] = sys.executable
    keras_info = None
    if keras_python:
        keras_info = one_shot(keras_python, {"op": "info"}, "keras-info")
        if "keras" in keras_info:
            pythons["keras"] = keras_python
            keras_info["interpreter"] = keras_python
        else:
            keras_missing = f"importing keras in `{keras_python}` failed: {keras_info}"
            log(f"Keras left out: {keras_missing}")
            keras_info = None

    names = list(args.names)
    flop_workloads = [n for n in names if getattr(load(n), "FLOP_FORMULA", None) and n != "matmul"]
    if flop_workloads and "matmul" not in names:
        names.append("matmul")  # the reference for the "% of peak" column
        log("matmul added: the reference for the '% of matmul peak' column")

    machine = machine_info(args.device, threads_before, keras_info, keras_missing)
    activity = MachineActivity()
    results = {}
    for name in names:
        log(f"== {name}")
        results[name] = run_workload(name, args, pythons)
    machine["activity"] = activity.finish()

    report = render(machine, results, args, added_matmul="matmul" not in args.names and "matmul" in names)
    if "scaling" in results and args.plot:
        plot_scaling(results["scaling"], machine, args.plot)
        report += f"\n\n![scaling plot]({os.path.relpath(args.plot, Path(args.readme).parent if args.readme else '.')})"
        log(f"scaling plot written to {args.plot}")
    print(report)
    if args.readme:
        write_into_readme(Path(args.readme), report)
        log(f"report written into {args.readme}")
    if args.json:
        payload = {"machine": machine, "args": {k: v for k, v in vars(args).items()}, "workloads": results}
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str))
        log(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
