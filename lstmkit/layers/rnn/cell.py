"""The base of the built-in recurrent cells (LSTMCell, GRUCell, SimpleRNNCell).

A cell computes one timestep: ``call(x_t, states) -> (output, new_states)`` with ``x_t`` of shape
``(batch, features)`` and each state ``(batch, units)``: the Keras cell API, which user-written cells
follow too. Built-in cells split that step in two so that the recurrent layer can work faster:
``project_inputs`` applies the input kernel to all timesteps in one matrix product, and ``step``
does the recurrent part. Cells whose configuration a PyTorch fused kernel computes exactly also
name it in ``fused_mode`` and hand over their weights in torch's order from ``fused_weights()``.

Weights are held in torch's layout: ``weight_ih (k*units, input_dim)``, ``weight_hh (k*units, units)``,
``bias (k*units)`` (k gates); ``keras_weights`` presents them as Keras's ``kernel (input_dim, k*units)``,
``recurrent_kernel (units, k*units)`` and ``bias``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit import activations, initializers, regularizers
from lstmkit.layers.base import KerasWeight, Layer, format_shape

__all__ = ["RecurrentCell"]


def _transposed_view(layer_name, name, param, trainable=True) -> KerasWeight:
    def write(value, param=param):
        param.copy_(value.t().to(dtype=param.dtype, device=param.device))

    return KerasWeight(f"{layer_name}/{name}", tuple(param.shape[::-1]), lambda: param.t(), write, trainable)


def _direct_view(layer_name, name, param, shape=None, trainable=True) -> KerasWeight:
    shape = tuple(param.shape) if shape is None else tuple(shape)

    def read(param=param):
        return param.reshape(shape)

    def write(value, param=param):
        param.copy_(value.reshape(param.shape).to(dtype=param.dtype, device=param.device))

    return KerasWeight(f"{layer_name}/{name}", shape, read, write, trainable)


class RecurrentCell(Layer):
    """Shared by LSTMCell, GRUCell and SimpleRNNCell; ``gates`` is k (4, 3, 1)."""

    gates = 1
    expected_ndim = 2
    input_axes = "(batch, features)"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # Element-wise functions without the logits bookkeeping: they run once per timestep.
        self._act = activations.raw(self.activation)

    # ------------------------------------------------------------------ shape and state
    @property
    def state_size(self) -> list[int]:
        return [self.units]

    @property
    def output_size(self) -> int:
        return self.units

    def get_initial_state(self, batch_size: int, like: torch.Tensor) -> list[torch.Tensor]:
        return [like.new_zeros(batch_size, size) for size in self.state_size]

    # ------------------------------------------------------------------ weights
    def _initial_bias(self) -> torch.Tensor:
        return self.bias_initializer((self.gates * self.units,), dtype=self.compute_dtype)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' needs the number of features (last input axis); received input shape "
                f"{format_shape(input_shape)}."
            )
        k_units = self.gates * self.units
        # Initializers see Keras's layout (so fans match Keras); storage is torch's (transposed).
        kernel = self.kernel_initializer((input_dim, k_units), dtype=self.compute_dtype)
        recurrent = self.recurrent_initializer((self.units, k_units), dtype=self.compute_dtype)
        self.weight_ih = torch.nn.Parameter(kernel.t().contiguous(), requires_grad=self.trainable)
        self.weight_hh = torch.nn.Parameter(recurrent.t().contiguous(), requires_grad=self.trainable)
        if self.use_bias:
            self.bias = torch.nn.Parameter(self._initial_bias(), requires_grad=self.trainable)
        else:
            self.bias = None

    def keras_weights(self):
        weights = [_transposed_view(self.name, "kernel", self.weight_ih),
                   _transposed_view(self.name, "recurrent_kernel", self.weight_hh)]
        if self.use_bias:
            weights.append(_direct_view(self.name, "bias", self.bias))
        return weights

    def regularization_losses(self):
        pairs = ((self.kernel_regularizer, self.weight_ih), (self.recurrent_regularizer, self.weight_hh),
                 (self.bias_regularizer, self.bias))
        return [reg(w) for reg, w in pairs if reg is not None and w is not None]

    # ------------------------------------------------------------------ computing
    @property
    def fused_mode(self) -> str | None:
        """The torch fused kernel that computes exactly this cell, or None."""
        return None

    def fused_weights(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def project_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The input half of every gate for all timesteps at once: (..., features) -> (..., k*units)."""
        return F.linear(inputs, self.weight_ih, self.bias)

    def step(self, projected: torch.Tensor, states: list[torch.Tensor]):
        """One timestep from the projected input (batch, k*units): returns (output, new_states)."""
        raise NotImplementedError

    def call(self, inputs, states):
        if not isinstance(states, (list, tuple)):
            states = [states]
        return self.step(self.project_inputs(inputs), list(states))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
