"""SimpleRNNCell and SimpleRNN: ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``."""

from __future__ import annotations

from lstmkit import activations
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.cell import RecurrentCell

__all__ = ["SimpleRNN", "SimpleRNNCell"]


class SimpleRNNCell(RecurrentCell):
    """One step. Input ``(batch, features)``; state ``[h]`` of shape ``(batch, units)``; output ``h``."""

    gates = 1
    torch_order = (0,)

    @property
    def fused_mode(self):
        if self.activation is activations.tanh:
            return "RNN_TANH"
        if self.activation is activations.relu:
            return "RNN_RELU"
        return None

    def first_step(self, projected):
        h = self._act(projected)
        return h, [h]

    def step(self, projected, states, recurrent_masks=None):
        (h,) = states
        h = self._act(projected + self.recurrent_projection(h, recurrent_masks))
        return h, [h]


class SimpleRNN(RNN):
    """Fully connected recurrent layer.

    Input ``(batch, timesteps, features)``; output ``(batch, units)`` or ``(batch, timesteps, units)``.
    Weights (Keras layout): ``kernel (features, units)``, ``recurrent_kernel (units, units)``, ``bias (units,)``.
    """

    cell_class = SimpleRNNCell

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
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
        cell = SimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
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
