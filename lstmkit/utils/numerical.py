"""Array helpers with Keras's names: ``to_categorical``, ``normalize``."""

from __future__ import annotations

import numpy as np

__all__ = ["normalize", "to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """One-hot encode integer class labels: shape ``y.shape + (num_classes,)`` (a trailing axis of 1 in
    ``y`` is dropped first, as Keras does)."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                "to_categorical needs integer class labels (0, 1, 2, ...); y has fractional or non-finite "
                f"values, e.g. {y[first]!r} at index {first if len(first) > 1 else first[0]}."
            )
    elif y.dtype.kind not in "biu":
        raise TypeError(f"to_categorical needs integer class labels; y has dtype {y.dtype}.")
    y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical needs labels >= 0; y has {int(y.min())}.")
    largest = int(y.max()) if y.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(
            f"y has the label {largest}, which does not fit num_classes={num_classes} (labels 0..{num_classes - 1})."
        )
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
