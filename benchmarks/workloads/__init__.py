"""The benchmark workloads, one module each, in the order the table lists them.

A workload module defines:

- ``NAME``, ``TITLE`` (the problem in one line), ``MEASURE`` (unit of the main number), ``KIND``
  (``"time"``: lower is better; ``"throughput"``: higher is better), ``IMPLEMENTATIONS``, ``ISOLATED``
  (run every implementation in a fresh process), optional ``FLOP_FORMULA``;
- ``config(quick) -> dict`` (sizes; ``quick`` gives tiny ones for a smoke test) and ``warmup(cfg) -> dict``
  (a short version run once, untimed, before the timed repeats);
- ``run_<implementation>(cfg, device) -> dict`` with at least ``value`` (in ``MEASURE``), optionally
  ``gflop_per_s``, ``loss``, ``epoch_seconds``, memory numbers. It raises ``Skip`` when the
  implementation cannot run the workload here.

Modules import only NumPy at the top: the Keras versions run in an interpreter without torch.
"""

from __future__ import annotations

import importlib

__all__ = ["WORKLOADS", "load"]

# table name -> module name
WORKLOADS = {
    "seed": "seed",
    "window": "window",
    "medium": "medium",
    "medium-generic": "medium_generic",
    "stacked": "stacked",
    "text": "text",
    "long": "long",
    "predict": "predict",
    "scaling": "scaling",
    "matmul": "matmul",
}


def load(name: str):
    """The module of workload ``name``."""
    return importlib.import_module(f"workloads.{WORKLOADS[name]}")
