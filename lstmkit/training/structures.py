"""Data for models with several inputs or outputs: what the user passed, as one tensor per input/output.

Inside the training loops x is a tensor for a one-input model and a list of tensors (in ``model.inputs``
order) otherwise; y likewise per output (in ``model.outputs`` order); sample weights are one tensor for every
output, or a list per output. One-input, one-output models keep plain tensors everywhere, so the common case
costs nothing extra.

What counts as several inputs: for a graph model, a list/tuple in ``model.inputs`` order or a dict by input
name (a one-input model takes its array as is). For a Sequential model a list is data, as before: nested
lists of numbers, or a list of per-sample arrays — but a list of whole batches (arrays with the model's
input rank) is refused with an explanation. A subclassed model takes a list or tuple of arrays as several
inputs, as Keras 3 does.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.layers.base import format_shape

__all__ = [
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


def _array_like(value) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        hasattr(value, "to_numpy") and hasattr(value, "dtypes")
    )


def input_count(model) -> int | None:
    """How many inputs the model takes: known for graph models (1 for Sequential), None for subclassed ones."""
    if hasattr(model, "stack"):  # Sequential
        return 1
    graph = getattr(model, "graph", None)
    return len(graph.inputs) if graph is not None else None


def split_inputs(model, x, what: str = "x") -> list:
    """The raw data of each input, in input order (one entry for a one-input model)."""
    if hasattr(model, "flatten_inputs"):  # a graph model knows its inputs and their names
        return model.flatten_inputs(x, what)
    if isinstance(x, dict):
        raise TypeError(
            f"{what} is a dict of inputs, but model '{model.name}' is not a graph model with named inputs. Pass "
            "one array, or build a keras.Model(inputs={...}, outputs=...) whose inputs have those names."
        )
    count = input_count(model)
    if count == 1 and isinstance(x, (list, tuple)) and len(x) > 1 and all(_array_like(v) for v in x):
        ranks = {np.ndim(v) for v in x}
        wanted = _input_rank(model)
        if wanted is not None and ranks == {wanted} and len({len(v) for v in x}) == 1:
            raise ValueError(
                f"{what} is a list of {len(x)} arrays of shapes {[format_shape(np.shape(v)) for v in x]}, but model "
                f"'{model.name}' has one input of rank {wanted}: several inputs need a graph model, e.g. "
                "keras.Model([input_a, input_b], outputs). To feed one array, stack or concatenate them "
                "(np.concatenate([...], axis=-1) for extra features)."
            )
    if count is None and isinstance(x, (list, tuple)) and len(x) > 1 and all(_array_like(v) for v in x):
        return list(x)  # a subclassed model with several inputs (Keras 3 passes the list to call)
    return [x]


def _input_rank(model) -> int | None:
    declared = getattr(model, "declared_input_shape", None)
    if declared:
        return len(declared)
    layers = getattr(model, "layers", [])
    return getattr(layers[0], "expected_ndim", None) if layers else None


def input_kinds(model, count: int) -> list[str]:
    """'int' or 'float' per input (token ids for Embedding inputs stay integers)."""
    kinds = getattr(model, "input_dtypes", None)
    if kinds and len(kinds) == count:
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
        if isinstance(y, (list, tuple)) and len(y) == 1 and _array_like(y[0]):
            return [y[0]]
        return [y]
    if not isinstance(y, (list, tuple)) or len(y) != count or not all(_array_like(v) or v is None for v in y):
        got = f"a list of {len(y)} entries" if isinstance(y, (list, tuple)) else "one array"
        raise ValueError(
            f"The model has {count} outputs {names}, but {what} is {got}. Pass one target array per output, in "
            "that order, or a dict by output name."
        )
    return list(y)
