"""Refusing, at load time, numbers in a model file that no model could use — before they cost memory,
time, or an error at the first training step.

- ``check_config_values``: integers beyond ±2**63 (``units: 10**4000`` raised an OverflowError deep in
  an initializer), NaN, and for the optimizer's settings (computed in float32) values beyond float32's
  range (a learning rate of 1e300 failed only at the first step).
- ``refuse_oversized``: an architecture is first built on PyTorch's ``meta`` device (shapes only: no
  memory, no values, no random draws) and refused when it asks for far more weight values than the file
  holds, so that ``units: 20000`` in a file of a few kilobytes cannot allocate gigabytes and spend minutes
  in an orthogonal initializer before the weights fail to fit.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lstmkit.saving.archive import ModelFileError
from lstmkit.utils import naming

__all__ = ["check_config_values", "refuse_oversized"]

_MAX_INT = 2**63  # seeds are the largest integers a config holds
_MAX_FLOAT32 = float(np.finfo(np.float32).max)
_MAX_DEPTH = 200
_SLACK = 1 << 20  # weight values a model may have beyond the file's (non-saved state, layout differences)


def check_config_values(config, path, document: str, float32=False) -> None:
    """Refuse numbers no model could use before anything is built from ``config``: integers beyond
    ±2**63, NaN, and (``float32``: numbers that the optimizer computes with in float32) infinities and
    magnitudes beyond float32's range. The error names the place, e.g. ``config.layers[0].config.units``."""

    def walk(value, where, depth):
        if depth > _MAX_DEPTH:
            raise ModelFileError(
                path, f"{document} is nested more than {_MAX_DEPTH} levels deep (at {where})."
            )
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return
        if isinstance(value, int):
            if abs(value) >= _MAX_INT:
                digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
                shown = f"{str(value)[:12]}... ({digits} digits)"
                raise ModelFileError(path, f"{document} holds an absurd number at {where}: {shown}.")
        elif isinstance(value, float):
            if math.isnan(value) or (float32 and not abs(value) <= _MAX_FLOAT32):
                kind = "NaN" if math.isnan(value) else "a value beyond float32's range"
                raise ModelFileError(path, f"{document} holds {kind} at {where}: {value!r}.")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else str(key), depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]", depth + 1)

    walk(config, "", 0)


def refuse_oversized(build, saved_values: int, path, document: str = "model.json") -> None:
    """Dry-run ``build()`` (a function returning the built model) on the meta device; refuse it when it
    needs far more weight values than the ``saved_values`` the file holds. A dry run that fails proves
    nothing (some layers cannot be built on ``meta``): the real build then reports any problem."""
    counts = dict(naming._name_counts)  # the dry run must not shift the automatic layer names
    try:
        with torch.device("meta"):
            model = build()
        needed = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    except Exception:  # noqa: BLE001 - see the docstring
        return
    finally:
        naming._name_counts.clear()
        naming._name_counts.update(counts)
    if needed > 4 * saved_values + _SLACK:
        raise ModelFileError(
            path,
            f"its architecture asks for {needed:,} weight values, but the file holds only {saved_values:,}: "
            f"a size in {document} was changed (edited or damaged), or it belongs to another file.",
        )
