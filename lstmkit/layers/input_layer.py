"""``Input``, ``InputLayer`` and ``InputSpec``: a model's inputs, and what a layer accepts.

``Input(shape=(timesteps, features))`` returns a symbolic tensor (``lstmkit.graph.KerasTensor``) made by
an ``InputLayer``: call layers on it and pass it to ``keras.Model(inputs, outputs)``, or put it first in a
``Sequential``. ``InputLayer(input_shape=...)`` is the Keras 2 spelling for Sequential models.
``InputSpec(ndim=3)`` is Keras's description of the inputs a custom layer accepts
(``self.input_spec = InputSpec(ndim=3)``): lstmkit checks it like its own layers' ranks.
"""

from __future__ import annotations

from lstmkit.graph.keras_tensor import KerasTensor
from lstmkit.graph.node import Node
from lstmkit.layers.base import Layer, _as_shape, format_shape

__all__ = ["Input", "InputLayer", "InputSpec"]


class InputLayer(Layer):
    """A layer that only declares an input: its one node outputs the model input ``self.output``.

    ``shape`` is per sample (``(timesteps, features)``), ``batch_shape`` includes the batch axis."""

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        batch_shape=None,
        input_tensor=None,
        optional=False,
        name=None,
        input_shape=None,
        batch_input_shape=None,
        ragged=None,
        **kwargs,
    ):
        if shape is not None and input_shape is None:
            input_shape = shape
        if batch_shape is not None and batch_input_shape is None:
            batch_input_shape = batch_shape
        for flag, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(
                    f"Input({flag}=True) is not supported: lstmkit inputs are dense tensors. Pad sequences to one "
                    "length (lstmkit.preprocessing.sequence.pad_sequences) and mask them instead."
                )
        if input_tensor is not None:
            raise ValueError(
                "Input(tensor=...) is not supported; pass shape=(...) and feed the data at fit/predict."
            )
        super().__init__(
            name=name,
            dtype=dtype,
            input_shape=input_shape,
            batch_input_shape=batch_input_shape,
            batch_size=batch_size,
            **kwargs,
        )
        if self.input_shape_declared is None:
            raise ValueError("Input needs shape=(...) (per sample) or batch_shape=(batch, ...).")
        self.built = True
        self.built_input_shape = self.input_shape_declared
        self.input_dtype = "int" if (self._dtype_name or "").startswith(("int", "uint")) else "float"
        Node(
            self,
            (),
            {},
            KerasTensor(self.input_shape_declared, self._dtype_name or "float32", name=self.name),
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)  # the shape is kept

    def get_config(self):
        config = {
            "batch_shape": self.input_shape_declared,
            "dtype": self._dtype_name or "float32",
            "name": self.name,
        }
        return config

    def __repr__(self):
        return f"<InputLayer name={self.name}, shape={format_shape(self.input_shape_declared)}>"


def Input(
    shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None, **kwargs
):
    """A symbolic model input of per-sample ``shape`` (e.g. ``(timesteps, features)``); ``batch_shape``
    includes the batch axis. Returns a KerasTensor."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs shape=(...) (per sample) or batch_shape=(batch, ...).")
    if batch_shape is not None:
        _as_shape(batch_shape, "batch_shape")
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        input_tensor=tensor,
        **kwargs,
    )
    return layer.output


class InputSpec:
    """Keras's constraints on a layer's input: ``InputSpec(ndim=3)``, ``min_ndim``, ``max_ndim``, ``axes``
    ({axis: size}), ``shape``, ``dtype``. Assign it to ``self.input_spec`` in a custom layer."""

    def __init__(
        self,
        dtype=None,
        shape=None,
        ndim=None,
        max_ndim=None,
        min_ndim=None,
        axes=None,
        allow_last_axis_squeeze=False,
        name=None,
        optional=False,
    ):
        self.dtype, self.name, self.optional = dtype, name, optional
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze

    def check(self, layer, input_shape) -> str:
        """'' if ``input_shape`` (batch axis included) is acceptable, else what is wrong."""
        ndim = len(input_shape)
        if self.ndim is not None and ndim != self.ndim:
            return (
                f"expects {self.ndim}-D input; received a {ndim}-D input of shape {format_shape(input_shape)}"
            )
        if self.min_ndim is not None and ndim < self.min_ndim:
            return f"expects input with at least {self.min_ndim} dimensions; received shape {format_shape(input_shape)}"
        if self.max_ndim is not None and ndim > self.max_ndim:
            return f"expects input with at most {self.max_ndim} dimensions; received shape {format_shape(input_shape)}"
        for axis, size in self.axes.items():
            got = input_shape[axis] if -ndim <= axis < ndim else None
            if size is not None and got is not None and got != size:
                return f"expects axis {axis} of its input to be {size}; received shape {format_shape(input_shape)}"
        if self.shape is not None:
            for want, got in zip(self.shape, input_shape):
                if want is not None and got is not None and want != got:
                    return f"expects input of shape {format_shape(self.shape)}; received {format_shape(input_shape)}"
        return ""

    def __repr__(self):
        parts = [
            f"{k}={v}"
            for k, v in (
                ("ndim", self.ndim),
                ("min_ndim", self.min_ndim),
                ("max_ndim", self.max_ndim),
                ("axes", self.axes or None),
                ("shape", self.shape),
            )
            if v is not None
        ]
        return f"InputSpec({', '.join(parts)})"
