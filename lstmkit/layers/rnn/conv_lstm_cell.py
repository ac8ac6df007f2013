"""ConvLSTMCell: one step of a convolutional LSTM, with Keras 3's weight layout and math.

For each timestep, with ``*`` a convolution (``strides``, ``padding``, ``dilation_rate`` for the input; always
stride 1, ``'same'`` padding and no dilation for the recurrent state, as in Keras)::

    z = x_t * kernel + bias + h_prev * recurrent_kernel        (4 * filters channels, gates i, f, c, o)
    i, f, o = recurrent_activation(z_i), recurrent_activation(z_f), recurrent_activation(z_o)
    c = f * c_prev + i * activation(z_c);   h = o * activation(c)

Weights (Keras layout): ``kernel (*kernel_size, channels, 4*filters)``, ``recurrent_kernel (*kernel_size,
filters, 4*filters)``, ``bias (4*filters,)``. ``unit_forget_bias=True`` sets the forget slice of the bias to 1.

The input convolution runs once over all timesteps (``project_inputs``), only the recurrent convolution per
step (``step``). The cell computes channels-first; the layers in lstmkit/layers/rnn/conv_lstm.py convert.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import Layer
from lstmkit.layers.conv import data_format_mode, padding_mode, positive_int
from lstmkit.layers.conv_nd import (
    channels_axis,
    convolve_torch,
    int_tuple,
    output_sizes,
    torch_kernel,
    windows,
)
from lstmkit.layers.rnn.cell import check_rate

__all__ = ["ConvLSTMCell"]


class ConvLSTMCell(Layer):
    """One ConvLSTM step of spatial rank ``rank``. Per-step input ``(batch, *spatial, channels)``
    (channels-first: ``(batch, channels, *spatial)``); states ``[h, c]`` and output ``h``, each
    ``(batch, filters, *out_spatial)`` inside the layer."""

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        owner=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        owner = owner or type(self).__name__
        self.rank = rank
        self.expected_ndim = rank + 2
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size = int_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = int_tuple(strides, rank, "strides", owner)
        self.dilation_rate = int_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). Received: "
                f"strides={strides!r}, dilation_rate={dilation_rate!r}. Use one of them."
            )
        self.padding = padding_mode(padding, owner, allow_causal=False)
        self.data_format = data_format_mode(data_format, owner)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self._act = activations.raw(self.activation)
        self._rec_act = activations.raw(self.recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.gates = 4
        self._recurrent_weight = None  # torch-layout recurrent kernel, prepared once per sequence

    constraint_arguments: ClassVar[dict] = {
        "kernel": "kernel_constraint",
        "recurrent_kernel": "recurrent_constraint",
        "bias": "bias_constraint",
    }

    @property
    def state_size(self) -> list[int]:
        """The channels of each state, [h, c]; their spatial size follows the input's."""
        return [self.filters, self.filters]

    def output_spatial(self, sizes) -> tuple:
        return output_sizes(sizes, windows(self.kernel_size, self.dilation_rate), self.strides, self.padding)

    # ------------------------------------------------------------------ weights
    def build(self, input_shape):
        channels = input_shape[channels_axis(self.rank, self.data_format)]
        four = 4 * self.filters
        self.kernel = self._new_weight(self.kernel_size + (channels, four), self.kernel_initializer)
        self.recurrent_kernel = self._new_weight(
            self.kernel_size + (self.filters, four), self.recurrent_initializer
        )
        if self.use_bias:
            bias = self.bias_initializer((four,), dtype=self.compute_dtype)
            if self.unit_forget_bias:
                bias[self.filters : 2 * self.filters] = 1.0  # Keras sets the forget slice to exactly 1
            self.bias = torch.nn.Parameter(bias, requires_grad=self.trainable)
        else:
            self.bias = None

    def regularization_losses(self):
        return self._penalties(
            (self.kernel_regularizer, getattr(self, "kernel", None)),
            (self.recurrent_regularizer, getattr(self, "recurrent_kernel", None)),
            (self.bias_regularizer, getattr(self, "bias", None)),
        )

    # ------------------------------------------------------------------ computing (channels-first inside)
    def project_inputs(self, inputs, gate_masks=None):
        """The input convolution of every timestep at once: ``(batch, time, channels, *spatial)`` ->
        ``(batch, time, 4*filters, *out_spatial)``. ``gate_masks (4, batch, channels, *spatial)``: one input
        dropout mask per gate. Also prepares the recurrent kernel for the steps that follow."""
        self._recurrent_weight = torch_kernel(self.recurrent_kernel).contiguous()
        batch, steps = inputs.shape[:2]
        folded = inputs.reshape((batch * steps,) + tuple(inputs.shape[2:]))
        weight = torch_kernel(self.kernel)
        if gate_masks is None:
            z = convolve_torch(folded, weight, self.bias, self.strides, self.padding, self.dilation_rate)
        else:
            biases = self.bias.chunk(4) if self.bias is not None else [None] * 4
            z = torch.cat(
                [
                    convolve_torch(
                        (inputs * mask.unsqueeze(1)).reshape(folded.shape),
                        w,
                        b,
                        self.strides,
                        self.padding,
                        self.dilation_rate,
                    )
                    for mask, w, b in zip(gate_masks, weight.chunk(4), biases)
                ],
                dim=1,
            )
        return z.reshape((batch, steps) + tuple(z.shape[1:]))

    def _recurrent(self, h, gate_masks=None):
        weight = self._recurrent_weight
        if weight is None:  # a step without project_inputs first (the Keras cell API)
            weight = torch_kernel(self.recurrent_kernel)
        ones = (1,) * self.rank
        if gate_masks is None:
            return convolve_torch(h, weight, None, ones, "same", ones)
        return torch.cat(
            [convolve_torch(h * m, w, None, ones, "same", ones) for m, w in zip(gate_masks, weight.chunk(4))],
            dim=1,
        )

    def step(self, projected, states, recurrent_masks=None):
        """One timestep from the projected input ``(batch, 4*filters, *out_spatial)``: (output, [h, c])."""
        h, c = states
        z = projected + self._recurrent(h, recurrent_masks)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
        c = self._rec_act(z_f) * c + self._rec_act(z_i) * self._act(z_c)
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def first_step(self, projected):
        """``step`` from zero states: no recurrent convolution, and c = i * activation(z_c)."""
        z_i, _, z_c, z_o = projected.chunk(4, dim=1)
        c = self._rec_act(z_i) * self._act(z_c)
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def call(self, inputs, states):
        """The Keras cell API, in the layer's data_format: ``inputs (batch, *spatial, channels)``, states
        ``[h, c]`` each ``(batch, *out_spatial, filters)`` -> ``(h, [h, c])``."""
        last = self.data_format == "channels_last"
        to_first = (lambda t: t.movedim(-1, 1)) if last else (lambda t: t)
        to_user = (lambda t: t.movedim(1, -1)) if last else (lambda t: t)
        self._recurrent_weight = None
        projected = self.project_inputs(to_first(inputs).unsqueeze(1))[:, 0]
        _, (h, c) = self.step(projected, [to_first(s) for s in states])
        return to_user(h), [to_user(h), to_user(c)]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        raise TypeError("ConvLSTMCell is rebuilt by its layer (ConvLSTM1D/2D/3D), not on its own.")
