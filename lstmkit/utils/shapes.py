"""Shapes as lstmkit's messages print them."""

from __future__ import annotations

__all__ = ["format_shape"]


def format_shape(shape) -> str:
    """'(None, 10)' for (None, 10); '(5,)' for (5,) — as Python prints a tuple, with None for unknown sizes."""
    shape = tuple(shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
