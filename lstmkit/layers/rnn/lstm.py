"""LSTMCell and LSTM, with Keras 3's defaults and math.

Gates, in Keras's (and torch's) order i, f, c, o::

    z = x @ kernel + h_prev @ recurrent_kernel + bias
    i, f, o = recurrent_activation(z_i), recurrent_activation(z_f), recurrent_activation(z_o)
    c = f * c_prev + i * activation(z_c)
    h = o * activation(c)

Keras has one bias where torch's kernel takes two: the second is a frozen zero buffer.
"""

from __future__ import annotations

import torch

from lstmkit import activations
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.cell import RecurrentCell

__all__ = ["LSTM", "LSTMCell"]


class LSTMCell(RecurrentCell):
    """One LSTM step. Input ``(batch, features)``; states ``[h, c]`` each ``(batch, units)``; output ``h``."""

    gates = 4
    torch_order = (0, 1, 2, 3)

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.recurrent_activation = activations.get(recurrent_activation)
        self._rec_act = activations.raw(self.recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _initial_bias(self):
        bias = super()._initial_bias()
        if self.unit_forget_bias:
            # Keras *sets* the forget-gate slice to 1.0 (it does not add to the initializer's value).
            bias[self.units : 2 * self.units] = 1.0
        return bias

    @property
    def fused_mode(self):
        if self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid:
            return "LSTM"
        return None

    def step(self, projected, states, recurrent_masks=None):
        h, c = states
        if recurrent_masks is None:
            z = torch.addmm(projected, h, self.weight_hh.t())
        else:
            z = projected + self.recurrent_projection(h, recurrent_masks)
        # chunk, not slicing: its backward is one concatenation, where each slice's backward would
        # write into a zero-filled copy of the whole gate matrix.
        z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
        c = torch.addcmul(self._rec_act(z_f) * c, self._rec_act(z_i), self._act(z_g))
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def first_step(self, projected):
        """``step`` from zero states: no recurrent product, and c = i * g."""
        z_i, _, z_g, z_o = projected.chunk(4, dim=1)
        c = self._rec_act(z_i) * self._act(z_g)
        h = self._rec_act(z_o) * self._act(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class LSTM(RNN):
    """Long short-term memory layer.

    Input ``(batch, timesteps, features)``. Output ``(batch, units)``, or ``(batch, timesteps, units)``
    with ``return_sequences=True``; with ``return_state=True``, ``[output, h, c]``.
    Weights (Keras layout): ``kernel (features, 4*units)``, ``recurrent_kernel (units, 4*units)``,
    ``bias (4*units,)``.
    """

    cell_class = LSTMCell

    def __init__(
        self,
        units,
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
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
