"""Node: the record of one call of a layer on symbolic tensors, and the symbolic call itself.

``LSTM(8)(x)`` with a KerasTensor ``x`` builds the layer for ``x.shape``, works out the output shape(s)
(``compute_output_shape``: declared by the layer, or traced on a small example batch), and returns new
KerasTensors. A ``Node`` remembers the call: the layer, the arguments as given (KerasTensors and plain
values, e.g. ``initial_state=[h, c]`` or ``training=True``), and the outputs. A layer called twice has
two nodes and one set of weights.
"""

from __future__ import annotations

import inspect
import itertools

from lstmkit.graph.keras_tensor import KerasHistory, KerasTensor
from lstmkit.utils import tree
from lstmkit.utils.shapes import is_shape

__all__ = ["Node", "output_shape_of", "symbolic_call"]

_creation = itertools.count()


class Node:
    """One call of ``layer``: ``args``/``kwargs`` as given, ``outputs`` (a KerasTensor or a list)."""

    def __init__(self, layer, args=(), kwargs=None, outputs=None):
        self.layer = layer
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.outputs = outputs
        self.input_tensors = [
            t for t in tree.flatten([list(self.args), self.kwargs]) if isinstance(t, KerasTensor)
        ]
        self.output_tensors = tree.flatten(outputs)
        self.order = next(_creation)  # ties in graph order are broken by creation order
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for position, tensor in enumerate(self.output_tensors):
            tensor._keras_history = KerasHistory(layer, self.index, position)

    @property
    def is_input(self) -> bool:
        """A node with no symbolic inputs: an ``Input`` (InputLayer)."""
        return not self.input_tensors

    @property
    def parent_nodes(self) -> list:
        return [
            t._keras_history.layer._inbound_nodes[t._keras_history.node_index] for t in self.input_tensors
        ]

    def __repr__(self):
        return f"<Node {self.layer.name}[{self.index}]>"


def _shape(leaf):
    return leaf.shape if isinstance(leaf, KerasTensor) else leaf


def shape_arguments(layer, args, kwargs) -> tuple[tuple, dict]:
    """The parts of a call that ``compute_output_shape`` also takes, as shapes (KerasTensors and tensors
    replaced by their shapes): positional arguments after the first when it has parameters for them (e.g.
    ``MultiHeadAttention``'s ``value``), and keyword arguments it accepts by name or as ``<name>_shape``
    (Keras 3's convention: ``key=`` -> ``key_shape``), such as Attention's ``return_attention_scores``,
    which changes how many outputs there are. Returns ``(extra_positional, keywords)``."""
    try:
        params = inspect.signature(layer.compute_output_shape).parameters
    except (TypeError, ValueError):
        return (), {}
    kinds = [p.kind for p in params.values()]
    positional = sum(
        k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds
    )
    extra = tuple(args[1:])
    if extra and not (inspect.Parameter.VAR_POSITIONAL in kinds or positional > len(extra)):
        extra = ()
    keywords = {}
    for key, value in kwargs.items():
        name = key if key in params else f"{key}_shape" if f"{key}_shape" in params else None
        if name is not None and params[name].kind is not inspect.Parameter.VAR_POSITIONAL:
            keywords[name] = tree.map_structure(_shape, value)
    return tuple(tree.map_structure(_shape, a) for a in extra), keywords


def output_shape_of(layer, args, kwargs):
    """``layer.compute_output_shape`` for a call with ``args``/``kwargs`` (tensors or shapes)."""
    extra, keywords = shape_arguments(layer, args, kwargs)
    return layer.compute_output_shape(tree.map_structure(_shape, args[0]), *extra, **keywords)


def symbolic_call(layer, args, kwargs):
    """Call ``layer`` on symbolic tensors: build it, compute its output shapes, record a Node."""
    if not args:
        raise TypeError(f"Layer '{layer.name}' was called without inputs. Call it as layer(inputs).")
    inputs = args[0]
    shapes = tree.map_structure(_shape, inputs)
    layer.ensure_built(shapes)
    output_shape = output_shape_of(layer, args, kwargs)
    dtype = layer.output_dtype(tree.map_structure(lambda t: getattr(t, "dtype", None), inputs))
    if is_shape(output_shape):
        outputs = KerasTensor(output_shape, dtype)
    elif isinstance(output_shape, (list, tuple)) and all(is_shape(s) for s in output_shape):
        outputs = [KerasTensor(s, dtype) for s in output_shape]
    elif isinstance(output_shape, dict):
        outputs = {k: KerasTensor(s, dtype) for k, s in output_shape.items()}
    else:
        raise TypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}).compute_output_shape returned {output_shape!r}; "
            "expected a shape tuple such as (None, 10), or a list of them for a layer with several outputs."
        )
    Node(layer, args, kwargs, outputs)
    return outputs
