"""Shapes: telling one from a list of them, and printing them as lstmkit's messages do."""

from __future__ import annotations

import numpy as np

__all__ = ["format_shape", "is_shape"]


def format_shape(shape) -> str:
    """'(None, 10)' for (None, 10); '(5,)' for (5,) — as Python prints a tuple, with None for unknown sizes."""
    shape = tuple(shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def is_shape(value) -> bool:
    """True for one shape — a tuple or list of sizes (ints, NumPy ints or None) — as opposed to a list of
    shapes or anything else."""
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value
    )
