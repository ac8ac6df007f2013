"""The functional API's machinery: symbolic tensors (``KerasTensor``), the records of layer calls (``Node``),
the graph between inputs and outputs (``Graph``) and its config. ``keras.Model(inputs, outputs)`` is built on it
(lstmkit/models/functional.py)."""

from lstmkit.graph.graph import Graph, GraphError
from lstmkit.graph.keras_tensor import KerasHistory, KerasTensor, any_symbolic
from lstmkit.graph.node import Node, symbolic_call

__all__ = ["Graph", "GraphError", "KerasHistory", "KerasTensor", "Node", "any_symbolic", "symbolic_call"]
