"""``Input`` and ``InputLayer``: declare the shape of a model's input.

``Input(shape=(timesteps, features))`` returns a placeholder that a ``Sequential`` model accepts as its
first entry (Keras 3 style); ``InputLayer(input_shape=...)`` is the Keras 2 spelling of the same.
"""

from __future__ import annotations

from lstmkit.layers.base import Layer, _as_shape, format_shape
from lstmkit.utils.naming import unique_name

__all__ = ["Input", "InputLayer", "InputSpec"]


class InputSpec:
    """A symbolic model input: its full shape (batch axis first) and dtype. Returned by ``Input``."""

    def __init__(self, batch_shape: tuple, dtype: str | None = None, name: str | None = None):
        self.shape = tuple(batch_shape)
        self.dtype = dtype or "float32"
        self.name = name or unique_name("input_layer")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<Input shape={format_shape(self.shape)}, dtype={self.dtype}, name={self.name}>"


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):
    """Declare a model input of per-sample ``shape`` (e.g. ``(timesteps, features)``)."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs shape=(...) (per sample) or batch_shape=(batch, ...).")
    if batch_shape is not None:
        return InputSpec(_as_shape(batch_shape, "batch_shape"), dtype, name)
    return InputSpec((batch_size,) + _as_shape(shape, "shape"), dtype, name)


class InputLayer(Layer):
    """A layer that only declares the input shape; it computes the identity."""

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        batch_shape=None,
        name=None,
        input_shape=None,
        batch_input_shape=None,
        **kwargs,
    ):
        if shape is not None and input_shape is None:
            input_shape = shape
        if batch_shape is not None and batch_input_shape is None:
            batch_input_shape = batch_shape
        super().__init__(
            name=name,
            dtype=dtype,
            input_shape=input_shape,
            batch_input_shape=batch_input_shape,
            batch_size=batch_size,
            **kwargs,
        )
        if self.input_shape_declared is None:
            raise ValueError("InputLayer needs shape=(...) (or input_shape=/batch_input_shape=).")
