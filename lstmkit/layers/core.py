"""Dense and Activation."""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import Layer, format_shape
from lstmkit.utils.checks import check_int

__all__ = ["Activation", "Dense"]


def _positive_units(units, owner: str) -> int:
    return check_int(units, "units", 1, owner=owner)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis.

    Input ``(batch, ..., input_dim)`` -> output ``(batch, ..., units)``. Weights (Keras layout):
    ``kernel (input_dim, units)``, ``bias (units,)``.
    """

    min_ndim = 2
    input_axes = "(batch, ..., features)"
    supports_masking = True

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _positive_units(units, "Dense")
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs the size of the last input axis; received input shape "
                f"{format_shape(input_shape)}."
            )
        self.kernel = self._new_weight((in_dim, self.units), self.kernel_initializer)
        self.bias = self._new_weight((self.units,), self.bias_initializer) if self.use_bias else None

    constraint_arguments: ClassVar[dict] = {"kernel": "kernel_constraint", "bias": "bias_constraint"}

    def call(self, inputs):
        # F.linear takes the (out, in) layout; kernel.t() is a free view of the Keras-layout kernel.
        return self.activation(F.linear(inputs, self.kernel.t(), self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def regularization_losses(self):
        return self._penalties(
            (self.kernel_regularizer, getattr(self, "kernel", None)),
            (self.bias_regularizer, getattr(self, "bias", None)),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """Applies an activation function element-wise; the output shape equals the input shape."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)  # the shape is kept

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


# Keras 2's `keras.layers.core` also held these; they live in their own modules (which do not import
# this one, so there is no import cycle).
from lstmkit.layers.identity import ActivityRegularization
from lstmkit.layers.lambda_layer import Lambda
from lstmkit.layers.masking import Masking
from lstmkit.layers.regularization import Dropout
from lstmkit.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

__all__ += [
    "ActivityRegularization",
    "Dropout",
    "Flatten",
    "Lambda",
    "Masking",
    "Permute",
    "RepeatVector",
    "Reshape",
]
