"""Python in a child process, for the tests that need a fresh one (a process killed mid-save or mid-fit, a
process that sees no GPU): this checkout importable, one thread, output captured."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["ROOT", "child_env", "run_python"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(**extra: str) -> dict:
    """This process's environment with this checkout first on the import path and one thread (the child's
    models are tiny; one thread is faster and immune to the other processes on the machine)."""
    path = ROOT + os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ROOT
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", **extra}


def run_python(*args, timeout: float, **extra_env: str) -> subprocess.CompletedProcess:
    """``python *args`` run from the repository root; never raises for its exit status."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env=child_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
