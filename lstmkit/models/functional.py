"""Functional: a model made of layers called on symbolic tensors — Keras's functional API.

``keras.Model(inputs, outputs)`` with ``inputs``/``outputs`` one KerasTensor, a list or a dict. The
layers between them are found by walking back from the outputs (lstmkit/graph/graph.py) and are the
model's own: their weights train with it, and a layer shared by two calls has one set of weights.

Inputs of ``call`` (and of fit/evaluate/predict): one tensor for a one-input model; a list in the order of
``model.inputs``; or a dict keyed by input name. Outputs come back in the structure the model was built
with (a tensor, a list or a dict). Masks ride on the tensors from layer to layer; the training phase is
the call's (fit: True, predict/evaluate: False, ``model(x, training=True)`` for Monte-Carlo dropout).
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.graph.graph import Graph
from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.models.model import Model
from lstmkit.utils import tree
from lstmkit.utils.shapes import format_shape

__all__ = ["Functional"]


def _check_symbolic(structure, what: str) -> list:
    flat = tree.flatten(structure)
    if not flat:
        raise ValueError(f"keras.Model needs at least one tensor in {what}. Received: {what}={structure!r}")
    for leaf in flat:
        if not isinstance(leaf, KerasTensor):
            kind = type(leaf).__name__
            shape = getattr(leaf, "shape", None)
            described = f"a {kind} of shape {tuple(shape)}" if shape is not None else f"{leaf!r:.60}"
            raise TypeError(
                f"keras.Model({what}=...) takes symbolic tensors: the result of keras.Input(...) or of calling a "
                f"layer on one. Received {described} in {what}. To run a model on data, build it first, then call "
                "model.predict(data)."
            )
        if leaf._keras_history is None:
            raise TypeError(
                f"{leaf!r} in {what} was not made by a layer call; build it with keras.Input(...)."
            )
    return flat


def _output_names(structure, flat) -> list[str]:
    """Per-output names for losses, metrics and logs: dict keys, else the producing layers' names."""
    if isinstance(structure, dict):
        return [str(k) for k in sorted(structure)]
    names, seen = [], {}
    for tensor in flat:
        name = tensor._keras_history.layer.name
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}_{count}")
    return names


class Functional(Model):
    """A graph of layers from ``inputs`` to ``outputs``; see the module docstring."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        inputs = kwargs.pop("input", None) if inputs is None else inputs  # Keras 1: Model(input=, output=)
        outputs = kwargs.pop("output", None) if outputs is None else outputs
        if inputs is None or outputs is None:
            raise TypeError("keras.Model(inputs, outputs) needs both: keras.Model(inputs=x, outputs=y).")
        super().__init__(name=name, trainable=trainable, **kwargs)
        flat_inputs, flat_outputs = _check_symbolic(inputs, "inputs"), _check_symbolic(outputs, "outputs")
        self._input_structure = inputs
        self._output_structure = outputs
        self.graph = Graph(flat_inputs, flat_outputs)
        # Registered in graph order: stable parameter names (optimizer state in files is keyed by them).
        self.graph_layers = torch.nn.ModuleList(self.graph.layers)
        self.built = True
        self.built_input_shape = [t.shape for t in flat_inputs]

    # ------------------------------------------------------------------ structure
    @property
    def layers(self):
        return list(self.graph.layers)

    @property
    def inputs(self) -> list:
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list:
        return list(self.graph.outputs)

    @property
    def input(self):
        return self._input_structure

    @property
    def output(self):
        return self._output_structure

    @property
    def input_names(self) -> list[str]:
        if isinstance(self._input_structure, dict):
            return [str(k) for k in sorted(self._input_structure)]
        return [t._keras_history.layer.name for t in self.graph.inputs]

    @property
    def output_names(self) -> list[str]:
        return _output_names(self._output_structure, self.graph.outputs)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self._output_structure)

    @property
    def input_dtypes(self) -> list[str]:
        return ["int" if t.dtype.startswith(("int", "uint")) else "float" for t in self.graph.inputs]

    @property
    def input_dtype(self) -> str:
        return self.input_dtypes[0] if len(self.graph.inputs) == 1 else "float"

    # ------------------------------------------------------------------ inputs
    def flatten_inputs(self, inputs, what: str = "x") -> list:
        """``inputs`` (a tensor/array, a list in ``model.inputs`` order, or a dict by input name) as a flat
        list in ``model.inputs`` order; a clear error when the count or the names do not fit."""
        expected = self.input_names
        if isinstance(inputs, dict):
            unknown = [k for k in inputs if k not in expected]
            missing = [k for k in expected if k not in inputs]
            if unknown or missing:
                raise ValueError(
                    f"{what} is a dict with keys {sorted(map(str, inputs))}, but model '{self.name}' has inputs "
                    f"{expected}"
                    + (f"; missing: {missing}" if missing else "")
                    + (f"; unknown: {unknown}" if unknown else "")
                    + "."
                )
            return [inputs[k] for k in expected]
        if len(expected) == 1:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and _is_array_like(inputs[0]):
                return [inputs[0]]
            return [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(  # noqa: TRY004 - a data-structure error, as Keras reports it
                f"Model '{self.name}' has {len(expected)} inputs {expected}, but {what} is one array. Pass a list "
                f"in that order, e.g. model.fit([x_{expected[0]}, x_{expected[1]}, ...], y), or a dict by name."
            )
        if len(inputs) != len(expected):
            raise ValueError(
                f"Model '{self.name}' has {len(expected)} inputs {expected}, but {what} is a list of {len(inputs)} "
                "arrays. Pass one array per input, in that order (or a dict by input name)."
            )
        return list(inputs)

    def _as_tensors(self, inputs):
        flat = self.flatten_inputs(inputs)
        device = self.current_device()
        converted = []
        for value, kind in zip(flat, self.input_dtypes):
            if isinstance(value, torch.Tensor):
                converted.append(value)
                continue
            dtype = torch.int64 if kind == "int" else self.compute_dtype
            converted.append(torch.as_tensor(np.asarray(value), dtype=dtype, device=device))
        return converted[0] if len(converted) == 1 else converted

    def check_input_values(self, x) -> None:
        """Token ids fed straight from an integer input into an Embedding are checked once, on all the data."""
        values = x if isinstance(x, list) else [x]
        for tensor, value, kind in zip(self.graph.inputs, values, self.input_dtypes):
            if kind != "int":
                continue
            for node in self.graph.nodes:
                if (
                    node.args
                    and node.args[0] is tensor
                    and hasattr(node.layer, "check_ids")
                    and node.layer.built
                ):
                    node.layer.check_ids(value)

    # ------------------------------------------------------------------ computing
    def call(self, inputs, training=None, mask=None):
        flat = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
        if mask is not None:
            masks = [mask] if isinstance(mask, torch.Tensor) else list(mask)
            for tensor, m in zip(flat, masks):
                if m is not None:
                    tensor._keras_mask = m
        outputs = self.graph.run(flat)
        return tree.pack_like(self._output_structure, outputs)

    def ensure_built(self, input_shape) -> None:
        """Check data shapes against the inputs (a Functional model is built when it is made)."""
        shapes = [input_shape] if len(self.graph.inputs) == 1 else list(input_shape)
        for tensor, shape in zip(self.graph.inputs, shapes):
            if len(shape) != len(tensor.shape) or any(
                want is not None and got is not None and want != got
                for want, got in zip(tensor.shape[1:], shape[1:])
            ):
                raise ValueError(
                    f"Input '{tensor.name}' of model '{self.name}' expects shape {format_shape(tensor.shape)}; "
                    f"received {format_shape(shape)}."
                )

    def build(self, input_shape=None) -> None:
        """A Functional model is built when it is made; ``build`` only checks the shape."""
        if input_shape is not None:
            self.ensure_built(input_shape)

    def compute_output_shape(self, input_shape):
        shapes = [input_shape] if len(self.graph.inputs) == 1 else list(input_shape)
        if all(tuple(s[1:]) == tuple(t.shape[1:]) for s, t in zip(shapes, self.graph.inputs)):
            flat = [t.shape for t in self.graph.outputs]
        else:
            flat = self.graph.output_shapes(shapes)
        structure = self._output_structure
        if isinstance(structure, KerasTensor):
            return flat[0]
        packed = tree.pack_like(structure, flat)
        return list(packed.values()) if isinstance(packed, dict) else list(packed)

    def prepare_input(self, x_shape) -> None:
        self.ensure_built(x_shape)

    def build_config(self):
        return None  # made whole from its config: every layer is built when the graph is replayed

    def example_inputs(self, batch_size: int = 1):
        shapes = [t.shape for t in self.graph.inputs]
        tensors = self._zero_inputs(shapes, self.input_dtypes, batch_size)
        return tensors[0] if len(tensors) == 1 else tensors

    def output_dtype(self, input_dtype):
        return self.graph.outputs[0].dtype

    # ------------------------------------------------------------------ config
    def get_config(self):
        from lstmkit.graph.serialization import graph_config

        return {"name": self.name, "trainable": self.trainable, **graph_config(self)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lstmkit.graph.serialization import graph_from_config

        inputs, outputs = graph_from_config(config, custom_objects)
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _is_array_like(value) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or hasattr(value, "to_numpy")
