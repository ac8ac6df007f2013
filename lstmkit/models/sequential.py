"""Sequential: a plain stack of layers, each feeding the next.

The input shape comes from ``input_shape=`` (or ``input_dim=``/``batch_input_shape=``) on the first
layer, from an ``Input(shape=...)`` placed first, or from the first data the model sees. As soon as
it is known, every layer is built by shape inference alone, so a layer that cannot take its
predecessor's output is reported at ``add()``, with the fix.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.input_layer import InputLayer
from lstmkit.layers.serialization import deserialize, serialize
from lstmkit.models.model import Model
from lstmkit.training.data import check_model_input

__all__ = ["Sequential"]


class Sequential(Model):
    """``Sequential([LSTM(10, input_shape=(1, 1)), Dense(1)])`` or ``Sequential()`` then ``add(layer)``.

    Input ``(batch, *input_shape)``; output: the last layer's output.
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.stack = torch.nn.ModuleList()
        self.declared_input_shape: tuple | None = None
        if layers is not None:
            if isinstance(layers, (Layer, KerasTensor)):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return list(self.stack)

    # ------------------------------------------------------------------ building the stack
    def add(self, layer) -> None:
        """Append ``layer``; build it now if the input shape is already known."""
        if isinstance(layer, KerasTensor):
            if layer._keras_history is None or not isinstance(layer._keras_history.layer, InputLayer):
                raise TypeError(
                    "Sequential.add() takes layers, or an Input(shape=...) first. Received a symbolic tensor made by "
                    f"a layer call ({layer!r}); for graphs of layers use keras.Model(inputs, outputs)."
                )
            self._declare_input(layer.shape, "Input(shape=...)")
            return
        if isinstance(layer, InputLayer):
            self._declare_input(layer.input_shape_declared, f"InputLayer '{layer.name}'")
            return
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(
                f"Sequential.add() needs a layer instance, but received the class {layer.__name__}. "
                f"Call it with its arguments, e.g. model.add({layer.__name__}(...))."
            )
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add() needs an lstmkit layer (e.g. lstmkit.layers.LSTM(10)). Received: {layer!r} "
                f"(type {type(layer).__name__})."
            )
        if any(existing.name == layer.name for existing in self.stack):
            raise ValueError(
                f"Sequential model '{self.name}' already has a layer named '{layer.name}'; layer names must be "
                "unique. Pass a different name=..., or leave name out to get a unique one."
            )
        if not self.stack and self.declared_input_shape is None and layer.input_shape_declared is not None:
            self.declared_input_shape = layer.input_shape_declared
        self.stack.append(layer)
        self._structure_changed()
        shape = self._known_input_shape()
        if shape is not None:
            try:
                self._infer_shapes(shape)
            except ValueError:
                self.stack = torch.nn.ModuleList(list(self.stack)[:-1])  # leave the model as it was
                raise

    def pop(self) -> Layer:
        if not self.stack:
            raise IndexError(f"Sequential model '{self.name}' has no layers to pop.")
        layers = list(self.stack)
        self.stack = torch.nn.ModuleList(layers[:-1])
        self._structure_changed()
        return layers[-1]

    def _declare_input(self, shape, source: str) -> None:
        if self.stack:
            raise ValueError(
                f"{source} must come first in a Sequential model; '{self.name}' already has layers. Put it first, "
                "or give the first layer input_shape=(...)."
            )
        self.declared_input_shape = tuple(shape)

    def _known_input_shape(self):
        if self.declared_input_shape is not None:
            return self.declared_input_shape
        return self.built_input_shape

    def _infer_shapes(self, input_shape: tuple) -> list:
        """Build every layer for ``input_shape`` by shape inference; return each layer's output shape."""
        shapes, shape, previous = [], tuple(input_shape), None
        for index, layer in enumerate(self.stack):
            if isinstance(shape, list):
                raise ValueError(  # noqa: TRY004 - a model-structure error, as Keras reports it
                    f"Layer '{previous.name}' returns several tensors (return_state=True), which a Sequential "
                    "model cannot pass on. Remove return_state=True, or build this network as a Model subclass."
                )
            declared = layer.input_shape_declared
            if index > 0 and declared is not None and tuple(declared[1:]) != tuple(shape[1:]):
                raise ValueError(
                    f"Layer '{layer.name}' declares input_shape={format_shape(declared[1:])}, but the previous layer "
                    f"'{previous.name}' outputs {format_shape(shape)}. Only the first layer needs input_shape; remove "
                    "it here or make the two agree."
                )
            try:
                layer.ensure_built(shape)
            except InputShapeError as err:
                hint = (
                    previous.hint_for_next_layer(err) if previous is not None else self._first_layer_hint(err)
                )
                raise InputShapeError(
                    f"{err} {hint}".strip(), err.layer, err.received_shape, err.expected_ndim
                ) from None
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
            previous = layer
        self.built = True
        self.built_input_shape = (None,) + tuple(input_shape[1:])
        return shapes

    @staticmethod
    def _first_layer_hint(err: InputShapeError) -> str:
        if err.expected_ndim == 3 and len(err.received_shape) == 2:
            n = err.received_shape[1]
            return (
                f"input_shape gives the shape of one sample, (timesteps, features): use input_shape=({n}, 1) "
                f"for {n} timesteps of one feature (then X = X.reshape((len(X), {n}, 1))), or input_shape=(1, {n}) "
                f"for one timestep of {n} features (X = X.reshape((len(X), 1, {n})))."
            )
        return ""

    def build(self, input_shape=None) -> None:
        """Build for ``input_shape`` (batch axis first, e.g. ``(None, 1, 1)``)."""
        shape = input_shape if input_shape is not None else self._known_input_shape()
        if shape is None:
            raise ValueError(
                f"Cannot build '{self.name}': its input shape is unknown. Pass model.build((None, timesteps, "
                "features)), or give the first layer input_shape=(timesteps, features)."
            )
        self._infer_shapes(tuple(shape))

    # ------------------------------------------------------------------ the data-facing interface
    def prepare_input(self, x_shape: tuple) -> None:
        if not self.stack:
            raise ValueError(f"Sequential model '{self.name}' has no layers; add some with model.add(...).")
        first = self.stack[0]
        check_model_input(
            tuple(x_shape),
            self.declared_input_shape,
            first.expected_ndim,
            f"The first layer '{first.name}' ({type(first).__name__})",
        )
        if not self.built or self._layers_unbuilt():
            self._infer_shapes((None,) + tuple(x_shape[1:]))
        else:
            first.check_input_shape((None,) + tuple(x_shape[1:]))

    def flatten_inputs(self, x, what: str = "x") -> list:
        """A Sequential model has one input: a list is data (nested lists, per-sample arrays), but a list of
        whole batches — arrays with the model's input rank — is refused: that is several inputs."""
        from lstmkit.training.structures import array_like

        if isinstance(x, dict):
            return super().flatten_inputs(x, what)
        if isinstance(x, (list, tuple)) and len(x) > 1 and all(array_like(v) for v in x):
            declared = self.declared_input_shape
            rank = len(declared) if declared else (self.stack[0].expected_ndim if self.stack else None)
            if rank is not None and {np.ndim(v) for v in x} == {rank} and len({len(v) for v in x}) == 1:
                raise ValueError(
                    f"{what} is a list of {len(x)} arrays of shapes {[format_shape(np.shape(v)) for v in x]}, but "
                    f"Sequential model '{self.name}' has one input of rank {rank}: several inputs need a graph model, "
                    "e.g. keras.Model([input_a, input_b], outputs). To feed one array, stack or concatenate them "
                    "(np.concatenate([...], axis=-1) for extra features)."
                )
        return [x]

    def _layers_unbuilt(self) -> bool:
        return any(not layer.built for layer in self.stack)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def describe_output_fix(self) -> str:
        for layer in reversed(self.stack):
            if getattr(layer, "return_sequences", False):
                return (
                    f"The last recurrent layer '{layer.name}' has return_sequences=True: set "
                    "return_sequences=False on it so that the layers after it see only its last timestep."
                )
        return ""

    @property
    def input_shape(self):
        shape = self._known_input_shape()
        if shape is None:
            raise AttributeError(f"Model '{self.name}' has no input shape yet; it is set by the first data.")
        return shape

    @property
    def output_shape(self):
        return self.compute_output_shape(self.input_shape)

    # ------------------------------------------------------------------ as a graph (feature extraction)
    def _symbolic(self):
        """(input, output) symbolic tensors of this stack, made once its input shape is known, so that
        ``keras.Model(model.input, model.get_layer('lstm').output)`` works on a Sequential model too."""
        cached = self.__dict__.get("_symbolic_cache")
        if cached is not None:
            return cached
        shape = self._known_input_shape()
        if shape is None:
            raise AttributeError(
                f"Sequential model '{self.name}' has no input yet: give its first layer input_shape=(...) or "
                "call it on data first."
            )
        from lstmkit.layers.input_layer import Input

        first = Input(batch_shape=shape, dtype="int64" if self.input_dtype == "int" else None)
        x = first
        for layer in self.stack:
            x = layer(x)
        self.__dict__["_symbolic_cache"] = (first, x)
        return first, x

    @property
    def input(self):
        return self._symbolic()[0]

    @property
    def output(self):
        return self._symbolic()[1]

    @property
    def inputs(self) -> list:
        return [self._symbolic()[0]]

    @property
    def outputs(self) -> list:
        return [self._symbolic()[1]]

    def _structure_changed(self):
        super()._structure_changed()
        self.__dict__.pop("_symbolic_cache", None)

    # ------------------------------------------------------------------ computing
    def call(self, inputs, training=None, mask=None):
        if not self.built or self._layers_unbuilt():
            self.prepare_input(tuple(inputs.shape))
        x = inputs
        for index, layer in enumerate(self.stack):
            # Masks and the training phase travel with the call (lstmkit/layers/base.py: Layer.forward).
            x = layer(x, mask=mask) if index == 0 and mask is not None else layer(x)
        return x

    def build_config(self):
        shape = self._known_input_shape()
        return None if shape is None else {"input_shape": tuple(shape)}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize(layer) for layer in self.stack],
            "build_input_shape": self._known_input_shape(),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        if shape is not None:
            model.declared_input_shape = tuple(shape)
        for layer_config in config.get("layers", []):
            model.add(deserialize(layer_config, custom_objects))
        return model
