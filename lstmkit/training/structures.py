"""Data for models with several inputs or outputs: what the user passed, as one tensor per input/output.

Inside the training loops x is a tensor for a one-input model and a list of tensors (in ``model.inputs``
order) otherwise; y likewise per output (in ``model.outputs`` order); sample weights are one tensor for every
output, or a list per output. One-input, one-output models keep plain tensors everywhere, so the common case
costs nothing extra.

What counts as several inputs is the model's to say (``Model.flatten_inputs``): for a graph model, a
list/tuple in ``model.inputs`` order or a dict by input name; for a Sequential model a list is data (nested
lists of numbers, or per-sample arrays), and a list of whole batches is refused with an explanation; a
subclassed model takes a list or tuple of arrays as several inputs, as Keras 3 does.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "array_like",
    "batch_shapes",
    "batch_size_of",
    "first",
    "input_kinds",
    "output_names",
    "shapes",
    "split_inputs",
    "split_targets",
    "take",
    "to_device",
]


def first(value):
    """The first tensor of a tensor or a list of tensors."""
    return value[0] if isinstance(value, list) else value


def batch_size_of(value) -> int:
    return first(value).shape[0]


def take(value, rows):
    """Rows ``rows`` of every tensor (None stays None)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [None if t is None else t[rows] for t in value]
    return value[rows]


def to_device(value, device, non_blocking=True):
    if value is None:
        return None
    if isinstance(value, list):
        return [None if t is None else t.to(device, non_blocking=non_blocking) for t in value]
    return value.to(device, non_blocking=non_blocking)


def shapes(value):
    """(None, ...) shapes: one tuple, or a list of them."""
    if isinstance(value, list):
        return [(None,) + tuple(t.shape[1:]) for t in value]
    return (None,) + tuple(value.shape[1:])


def batch_shapes(value):
    """The full shapes, batch axis included: one tuple, or a list of them."""
    return [tuple(t.shape) for t in value] if isinstance(value, list) else tuple(value.shape)


def array_like(value) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        hasattr(value, "to_numpy") and hasattr(value, "dtypes")
    )


def split_inputs(model, x, what: str = "x") -> list:
    """The raw data of each input, in input order (one entry for a one-input model): the model says how
    it reads a list or a dict (``Model.flatten_inputs``)."""
    return model.flatten_inputs(x, what)


def input_kinds(model, count: int) -> list[str]:
    """'int' or 'float' per input (token ids for Embedding inputs stay integers)."""
    kinds = model.input_dtypes
    if len(kinds) == count:
        return list(kinds)
    return [model.input_dtype] * count if count == 1 else ["float"] * count


def output_names(model, count: int) -> list[str]:
    """The names of a model's outputs: a graph model's own, else the last layer's name (one output) or
    ``output_1``, ``output_2``, ... (a subclassed model returning several tensors)."""
    names = getattr(model, "output_names", None)
    if isinstance(names, list) and len(names) == count:
        return names
    if count == 1:
        layers = model.layers
        return [layers[-1].name if layers else "output"]
    return [f"output_{i + 1}" for i in range(count)]


def split_targets(y, names: list[str], what: str = "y") -> list:
    """The raw targets of each output, in output order: a list, a dict by output name, or one array for a
    one-output model."""
    count = len(names)
    if isinstance(y, dict):
        unknown = [k for k in y if k not in names]
        missing = [n for n in names if n not in y]
        if unknown or (missing and count == 1):
            raise ValueError(
                f"{what} is a dict with keys {sorted(map(str, y))}, but the model's outputs are {names}"
                + (f"; unknown: {unknown}" if unknown else "")
                + ". Key the targets by output name."
            )
        return [y.get(name) for name in names]
    if count == 1:
        if isinstance(y, (list, tuple)) and len(y) == 1 and array_like(y[0]):
            return [y[0]]
        return [y]
    if not isinstance(y, (list, tuple)) or len(y) != count or not all(array_like(v) or v is None for v in y):
        got = f"a list of {len(y)} entries" if isinstance(y, (list, tuple)) else "one array"
        raise ValueError(
            f"The model has {count} outputs {names}, but {what} is {got}. Pass one target array per output, in "
            "that order, or a dict by output name."
        )
    return list(y)
