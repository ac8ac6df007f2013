"""Where a layer's weights are in Keras's files, and the conversions old files need.

Two layouts (see docs in ``lstmkit.saving.keras``):

* **Object paths** (Keras 3 ``.keras`` / ``.weights.h5``, tf.keras 2.13+ ``.weights.h5``): a model's layers
  are ``layers/<snake_case class name>`` (``_1``, ``_2``, ... for repeats, counted per class name in
  model order, whatever the user named the layers); a layer's own variables are ``vars/0``, ``vars/1``, ...
  (sorted as numbers: HDF5 lists "10" before "2"); inner layers sit under the attribute that holds
  them: ``cell/`` (recurrent layers), ``forward_layer/`` and ``backward_layer/`` (Bidirectional),
  ``layer/`` (TimeDistributed), ``cells/<class>[_N]/`` (stacked cells), ``layers/`` (a nested model).
* **By layer** (legacy HDF5, ``model.save('x.h5')`` / Keras 2 ``save_weights('x.h5')``): a group per
  layer in the order of the ``layer_names`` attribute, each with a ``weight_names`` attribute listing its
  datasets in weight order. Layers match by position among the layers that have weights (as Keras
  loads them), or by name.

Conversions (legacy files, decided by the arrays' count and shapes): Keras 1 LSTM (12 arrays, gates
i, c, f, o) and GRU (9 arrays) become the 3-array layout; ``CuDNNLSTM`` weights (bias of 8 * units: the
input and recurrent biases, summed) and ``CuDNNGRU`` weights (bias of 6 * units -> ``(2, 3 * units)``)
become ``LSTM`` / ``GRU(reset_after=True)`` weights, with each gate's kernel block re-read from cuDNN's
memory order: cuDNN kept the gate's ``(units, inputs)`` matrix row-major in the Keras-shaped array.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from lstmkit.layers.base import Layer, format_shape
from lstmkit.utils.naming import snake_case

__all__ = ["by_layer_groups", "check_and_assign", "convert_legacy", "listed_weights", "object_path_arrays"]


def keras_snake_case(class_name: str) -> str:
    """The path component Keras 3 makes from a class name ('LSTM' -> 'lstm', 'TimeDistributed' ->
    'time_distributed')."""
    return snake_case(re.sub(r"\W+", "", class_name))


# ---------------------------------------------------------------------------- object-path layout
def _own_vars(reader, group) -> list[np.ndarray]:
    vars_group = reader.group("vars", group)
    if vars_group is None:
        return []
    names = reader.members(vars_group)
    if not all(n.isdigit() for n in names):
        raise reader.error(f"{vars_group.name!r} holds entries that are not numbered variables: {names[:5]}.")
    arrays = []
    for name in sorted(names, key=int):
        node = reader.get(name, vars_group)
        if not reader.is_dataset(node):
            raise reader.error(f"{vars_group.name}/{name} is not a dataset.")
        arrays.append(reader.array(node))
    return arrays


def _children(reader, group, layers, class_names, where):
    """``(layer, its group, its path)`` for each of ``layers`` (a model's layer list, or stacked cells) that
    has weights, under ``group`` as Keras names them: by class, numbered per class name in order (layers
    without weights are counted too)."""
    counts: dict[str, int] = {}
    for layer in layers:
        base = keras_snake_case(class_names.get(getattr(layer, "name", None)) or type(layer).__name__)
        name = base if base not in counts else f"{base}_{counts[base] + 1}"
        counts[base] = counts.get(base, -1) + 1
        if not layer.keras_weights():
            continue
        child = reader.group(name, group) if group is not None else None
        if child is None:
            present = reader.members(group) if group is not None else []
            raise reader.error(
                f"no weights for layer '{layer.name}' ({type(layer).__name__}): Keras stores them under "
                f"'{where}/{name}', which is missing (the file has: {', '.join(present) or 'nothing'}). Is it "
                "the same architecture?"
            )
        yield layer, child, f"{where}/{name}"


def _container(reader, group, layers, class_names, where) -> list[np.ndarray]:
    """The arrays of ``layers`` under ``group``, one layer after the other."""
    arrays = []
    for layer, child, path in _children(reader, group, layers, class_names, where):
        arrays.extend(_layer_arrays(reader, child, layer, path))
    return arrays


def _layer_arrays(reader, group, layer, where) -> list[np.ndarray]:
    from lstmkit.models.model import Model

    if isinstance(layer, Model):
        return _own_vars(reader, group) + _container(
            reader, reader.group("layers", group), layer.layers, {}, where
        )
    arrays = _own_vars(reader, group)
    # Inner layers, in lstmkit's (= Keras's) weight order, under the attribute names Keras uses; a layer may
    # list its own (``keras_inner_layers``, e.g. MultiHeadAttention's "_query_dense"), which Keras saves under
    # the name of their public property when there is one ("query_dense"), else as they are ("_gate_dense").
    attributes = (
        "forward_layer",
        "backward_layer",
        "layer",
        "cell",
        *getattr(layer, "keras_inner_layers", ()),
    )
    for attribute in attributes:
        inner = getattr(layer, attribute, None)
        if isinstance(inner, Layer):
            saved = next(
                (n for n in (attribute.lstrip("_"), attribute) if reader.group(n, group) is not None), None
            )
            if saved is None:
                raise reader.error(
                    f"'{where}/{attribute.lstrip('_')}' is missing: the weights of '{layer.name}' are incomplete."
                )
            arrays.extend(_layer_arrays(reader, reader.group(saved, group), inner, f"{where}/{saved}"))
    cells = getattr(layer, "cells", None)
    if isinstance(cells, list) and cells and all(isinstance(c, Layer) for c in cells):
        arrays.extend(_container(reader, reader.group("cells", group), cells, {}, f"{where}/cells"))
    return arrays


def object_path_arrays(reader, root, layers, class_names) -> list[tuple[Layer, list[np.ndarray]]]:
    """``[(layer, arrays)]`` for the top-level ``layers`` of a model from an object-path weights file
    (``root`` is the group holding ``layers/``)."""
    container = reader.group("layers", root)
    if container is None:
        raise reader.error("it has no 'layers' group: it is not a Keras 3 weights file.")
    return [
        (layer, _layer_arrays(reader, group, layer, path))
        for layer, group, path in _children(reader, container, layers, class_names, "layers")
    ]


# ---------------------------------------------------------------------------- by-layer (legacy) layout
def by_layer_groups(reader, root) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """``[(layer name, [(weight name, array)])]`` of a legacy weights group, in ``layer_names`` order,
    layers without weights left out."""
    names = reader.attr_list(root, "layer_names")
    if names is None:
        raise reader.error(
            f"the group {root.name!r} has no 'layer_names' attribute: it is not a Keras weights group."
        )
    groups = []
    for layer_name in names:
        group = reader.group(layer_name, root)
        if group is None:
            raise reader.error(f"the layer group {layer_name!r} listed in 'layer_names' is missing.")
        weights = listed_weights(reader, group, f"layer {layer_name!r}", prefix=layer_name)
        if weights:
            groups.append((layer_name, weights))
    return groups


def listed_weights(reader, group, owner: str, prefix: str | None = None) -> list[tuple[str, np.ndarray]]:
    """``[(name, array)]`` of the datasets a legacy group lists in its ``weight_names`` attribute, in that
    order (a layer's weights, or the optimizer's); ``owner`` names the group in errors."""
    weights = []
    for name in reader.attr_list(group, "weight_names") or []:
        node = reader.get(name, group)
        if not reader.is_dataset(node):
            raise reader.error(f"the weight {name!r} of {owner} is missing.")
        weights.append((name, reader.array(node, None if prefix is None else f"{prefix}/{name}")))
    return weights


def _cudnn_kernel(kernel: np.ndarray, gates: int) -> np.ndarray:
    """A kernel ``(rows, gates * units)`` as cuDNN kept it -> Keras's layout: each gate's block holds the
    gate's ``(units, rows)`` matrix in row-major order."""
    units = kernel.shape[1] // gates
    rows = kernel.shape[0]
    blocks = np.split(kernel, gates, axis=1)
    return np.concatenate([block.reshape(units, rows).T for block in blocks], axis=1)


def _convert_cell(cell_class: str, cell, arrays: list[np.ndarray], label: str) -> list[np.ndarray]:
    if cell_class == "LSTMCell":
        if len(arrays) == 12:  # Keras 1: (W, U, b) for gates i, c, f, o
            i, c, f, o = (arrays[k : k + 3] for k in range(0, 12, 3))
            return [np.concatenate([g[part] for g in (i, f, c, o)], axis=-1) for part in range(3)]
        if len(arrays) == 3 and arrays[2].shape == (8 * cell.units,):  # CuDNNLSTM
            bias = arrays[2][: 4 * cell.units] + arrays[2][4 * cell.units :]
            return [_cudnn_kernel(arrays[0], 4), _cudnn_kernel(arrays[1], 4), bias]
    if cell_class == "GRUCell":
        if len(arrays) == 9:  # Keras 1: (W, U, b) for gates z, r, h
            return [np.concatenate([arrays[k + part] for k in (0, 3, 6)], axis=-1) for part in range(3)]
        if len(arrays) == 3 and arrays[2].shape == (6 * cell.units,):  # CuDNNGRU
            if not cell.reset_after:
                raise ValueError(
                    f"{label} holds CuDNNGRU weights, which only GRU(reset_after=True) computes; the layer "
                    "has reset_after=False. Build it with reset_after=True."
                )
            return [_cudnn_kernel(arrays[0], 3), _cudnn_kernel(arrays[1], 3), arrays[2].reshape(2, -1)]
    return arrays


def convert_legacy(layer: Layer, arrays: list[np.ndarray], label: str) -> list[np.ndarray]:
    """``arrays`` from a legacy file, in the layout ``layer.set_weights`` takes (see the module docstring)."""
    forward, backward = getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None)
    if isinstance(forward, Layer) and isinstance(backward, Layer):
        half = len(arrays) // 2
        return convert_legacy(forward, arrays[:half], label) + convert_legacy(backward, arrays[half:], label)
    inner = getattr(layer, "layer", None)
    if isinstance(inner, Layer):
        return convert_legacy(inner, arrays, label)
    cell = getattr(layer, "cell", None)
    if isinstance(cell, Layer):
        return _convert_cell(type(cell).__name__, cell, arrays, label)
    if (
        type(layer).__name__ == "Conv1D"
        and len(arrays) >= 1
        and arrays[0].ndim == 4
        and arrays[0].shape[1] == 1
    ):
        return [arrays[0][:, 0], *arrays[1:]]  # Keras 1 (TensorFlow ordering) 2-D kernel of a 1-D convolution
    return arrays


# ---------------------------------------------------------------------------- assigning
def mismatch(layer: Layer, arrays: list[np.ndarray]) -> str:
    """Why ``arrays`` do not fit ``layer`` (empty when they do)."""
    targets = layer.keras_weights()
    expected = ", ".join(f"{w.name.split('/')[-1]} {format_shape(w.shape)}" for w in targets)
    received = ", ".join(format_shape(a.shape) for a in arrays)
    if len(arrays) != len(targets) or any(tuple(a.shape) != tuple(w.shape) for a, w in zip(arrays, targets)):
        return f"the layer has {len(targets)} weight(s) [{expected}], the file has {len(arrays)} [{received}]"
    return ""


def check_and_assign(pairs, path, skip_mismatch=False) -> None:
    """Set each ``(layer, arrays)`` pair, after checking them all: a failed load changes nothing."""
    from lstmkit.saving.archive import ModelFileError

    ready = []
    for layer, arrays, label in pairs:
        problem = mismatch(layer, arrays)
        if problem:
            message = (
                f"the weights of {label} do not fit layer '{layer.name}' ({type(layer).__name__}): {problem}."
            )
            if skip_mismatch:
                warnings.warn(
                    f"Cannot load '{path}': {message} Skipped (skip_mismatch=True).",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            raise ModelFileError(path, message + " Is the model built like the one that was saved?")
        ready.append((layer, arrays))
    for layer, arrays in ready:
        layer.set_weights(arrays)
