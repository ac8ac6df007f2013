"""How an op becomes a graph node when it meets symbolic tensors, as in Keras 3.

Every function of ``lstmkit.ops`` is registered with ``@op("name")``. Called on real tensors it computes with
torch. Called with a KerasTensor anywhere in its arguments (``ops.mean(lstm_out, axis=1)``, ``x * 2``,
``x[:, -1]``), it instead records a node: an ``OpLayer`` that will run the op when the graph model runs. The
output shape is found by running the op on small zero tensors whose unknown sizes are 2 and then 3.
"""

from __future__ import annotations

import functools

import torch

from lstmkit.graph.keras_tensor import KerasTensor, symbolic_arguments
from lstmkit.graph.node import Node
from lstmkit.layers.base import Layer
from lstmkit.utils import tree
from lstmkit.utils.naming import lookup, unique_name

__all__ = ["OpLayer", "op", "registered_ops"]

_REGISTRY: dict = {}


def registered_ops() -> dict:
    """Every op by name: the torch function behind it."""
    return dict(_REGISTRY)


def op(name: str):
    """Register ``fn`` as the op ``name``; calls with symbolic tensors record a graph node instead."""

    def decorator(fn):
        _REGISTRY[name] = fn

        @functools.wraps(fn)
        def dispatch(*args, **kwargs):
            if symbolic_arguments(args, kwargs):
                return _symbolic_op(name, fn, args, kwargs)
            return fn(*args, **kwargs)

        return dispatch

    return decorator


class OpLayer(Layer):
    """An op applied in a graph model (``op``: its name in ``lstmkit.ops``). It has no weights; it runs the
    op on whatever arguments the node recorded (tensors, numbers, axes, slices)."""

    def __init__(self, op, name=None, **kwargs):
        super().__init__(name=name or unique_name(op), **kwargs)
        self.op = op
        self.fn = lookup("op", op, _REGISTRY, hint="Ops in a saved model must be lstmkit.ops functions.")
        self.built = True

    def __call__(self, *args, **kwargs):
        if symbolic_arguments(args, kwargs):  # replaying a saved graph: this layer's next node
            return _symbolic_op(self.op, self.fn, args, kwargs, layer=self)
        return torch.nn.Module.__call__(self, *args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        raise ValueError(
            f"The op '{self.op}' ({self.name}) gets its output shape from the call that made it; it cannot be "
            "recomputed for other input shapes. Rebuild the model on the new inputs."
        )

    def get_config(self):
        return {"name": self.name, "op": self.op}


def _dtype(name: str) -> torch.dtype:
    name = str(name).replace("torch.", "")
    if name.startswith(("int", "uint")):
        return torch.int64
    if name == "bool":
        return torch.bool
    return getattr(torch, name, torch.float32)


def _examples(structure, fill: int):
    def example(leaf):
        if isinstance(leaf, KerasTensor):
            return torch.zeros(tuple(fill if d is None else d for d in leaf.shape), dtype=_dtype(leaf.dtype))
        return leaf

    return tree.map_structure(example, structure)


def _symbolic_op(name, fn, args, kwargs, layer=None):
    try:
        with torch.no_grad():
            first = fn(*_examples(list(args), 2), **_examples(kwargs, 2))
            second = fn(*_examples(list(args), 3), **_examples(kwargs, 3))
    except Exception as error:
        shapes = [t.shape for t in tree.flatten([list(args), kwargs]) if isinstance(t, KerasTensor)]
        message = f"ops.{name} on symbolic tensors of shapes {shapes}: {error}"
        try:
            wrapped = type(error)(message)  # the same kind of error, now saying which op and shapes
        except TypeError:  # an exception class whose constructor wants other arguments
            wrapped = (TypeError if isinstance(error, TypeError) else ValueError)(message)
        raise wrapped from error

    def spec(a, b):
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"ops.{name} returned {type(a).__name__}, which a graph model cannot carry.")
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return KerasTensor(shape, str(a.dtype).replace("torch.", ""))

    if isinstance(first, (list, tuple)):
        outputs = [spec(a, b) for a, b in zip(first, second)]
    else:
        outputs = spec(first, second)
    Node(layer or OpLayer(name), args, kwargs, outputs)
    return outputs
