"""The projections inside MultiHeadAttention: Keras's EinsumDense layers ``query``, ``key``, ``value``,
``gate`` and ``attention_output``, with their weight names, layouts and initial values' law.

A projection contracts the last ``len(in_dims)`` axes of its input with the first axes of its kernel:
input ``(batch, ..., *in_dims)`` -> output ``(batch, ..., *out_dims)``; kernel ``(*in_dims, *out_dims)``,
bias ``out_dims``. E.g. the query projection: ``(batch, T, dim)`` -> ``(batch, T, num_heads, key_dim)``
with kernel ``(dim, num_heads, key_dim)``; the output projection: ``(batch, T, num_heads, value_dim)`` ->
``(batch, T, dim)`` with kernel ``(num_heads, value_dim, dim)``.
"""

from __future__ import annotations

import math

import torch

from lstmkit import initializers
from lstmkit.layers.base import Layer

__all__ = ["Projection"]


class Projection(Layer):
    """One EinsumDense-style projection (made built: its shapes are known when it is made)."""

    def __init__(
        self,
        name,
        in_dims,
        out_dims,
        use_bias,
        kernel_initializer,
        bias_initializer,
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        activation=None,
        dtype=None,
    ):
        # activity_regularizer: the base class adds its penalty on the output, per sample (as Keras's EinsumDense).
        super().__init__(name=name, dtype=dtype, activity_regularizer=activity_regularizer)
        self.in_dims, self.out_dims = tuple(in_dims), tuple(out_dims)
        self.activation = activation
        self.add_weight(
            name="kernel",
            shape=self.in_dims + self.out_dims,
            initializer=_with_keras_fans(
                kernel_initializer, math.prod(self.in_dims), math.prod(self.out_dims)
            ),
            regularizer=kernel_regularizer,
            constraint=kernel_constraint,
        )
        if use_bias:
            self.add_weight(
                name="bias",
                shape=self.out_dims,
                initializer=bias_initializer,
                regularizer=bias_regularizer,
                constraint=bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def call(self, inputs):
        bound = len(self.in_dims)
        outputs = torch.tensordot(inputs, self.kernel, dims=bound)
        if self.bias is not None:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[: len(input_shape) - len(self.in_dims)]) + self.out_dims


def _with_keras_fans(initializer, fan_in: int, fan_out: int):
    """Keras 3's EinsumDense gives variance-scaling initializers the fans of its contraction (fan_in = the
    contracted sizes, fan_out = the produced ones), not those the kernel's rank would suggest: draw a
    ``(fan_in, fan_out)`` matrix (the same law) and reshape it to the kernel's layout."""
    if not isinstance(initializer, initializers.VarianceScaling):
        return initializer

    def draw(shape, dtype=None):
        return torch.as_tensor(initializer((fan_in, fan_out), dtype=dtype)).reshape(shape)

    return draw
