"""GRUCell and GRU, with Keras 3's defaults and math.

Keras gate order z (update), r (reset), h (candidate); torch's order is r, z, n, so the gate blocks are
reordered at the get/set_weights boundary. With ``reset_after=True`` (the default, and what cuDNN
computes) the bias is ``(2, 3*units)``: row 0 for the input, row 1 for the recurrent product, and the
reset gate multiplies the recurrent product *after* the matrix product::

    z = rec(x Kz + b0z + h Rz + b1z);  r = rec(x Kr + b0r + h Rr + b1r)
    cand = act(x Kh + b0h + r * (h Rh + b1h));  h_new = z * h + (1 - z) * cand

With ``reset_after=False`` the bias is ``(3*units,)`` and ``cand = act(x Kh + b_h + (r * h) Rh)``.
"""

from __future__ import annotations

import torch

from lstmkit import activations
from lstmkit.layers.base import KerasWeight
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.cell import RecurrentCell, keras_to_torch, torch_to_keras

__all__ = ["GRU", "GRUCell"]


class GRUCell(RecurrentCell):
    """One GRU step. Input ``(batch, features)``; state ``[h]`` of shape ``(batch, units)``; output ``h``."""

    gates = 3
    torch_order = (1, 0, 2)  # torch's r, z, n are Keras's blocks 1, 0, 2

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        reset_after=True,
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
        self.reset_after = bool(reset_after)

    def _has_recurrent_bias(self):
        return self.reset_after

    def _bias_view(self):
        if not self.reset_after:
            return super()._bias_view()
        units, order, b_ih, b_hh = self.units, self.torch_order, self.bias_ih, self.bias_hh

        def read():
            return torch.stack([torch_to_keras(b_ih, units, order), torch_to_keras(b_hh, units, order)])

        def write(value):
            value = value.to(dtype=b_ih.dtype, device=b_ih.device)
            b_ih.copy_(keras_to_torch(value[0], units, order))
            b_hh.copy_(keras_to_torch(value[1], units, order))

        return KerasWeight(f"{self.name}/bias", (2, 3 * units), read, write, b_ih.requires_grad)

    @property
    def fused_mode(self):
        if (
            self.reset_after
            and self.activation is activations.tanh
            and self.recurrent_activation is activations.sigmoid
        ):
            return "GRU"
        return None

    def step(self, projected, states, recurrent_masks=None):
        (h,) = states
        u = self.units
        x_r, x_z, x_n = projected[:, :u], projected[:, u : 2 * u], projected[:, 2 * u :]
        if self.reset_after:
            if recurrent_masks is None and self.bias_hh is not None:
                hidden = torch.addmm(self.bias_hh, h, self.weight_hh.t())
            else:
                hidden = self.recurrent_projection(h, recurrent_masks)
                if self.bias_hh is not None:
                    hidden = hidden + self.bias_hh
            gates = self._rec_act(projected[:, : 2 * u] + hidden[:, : 2 * u])  # r and z in one operation
            r, z = gates[:, :u], gates[:, u:]
            candidate = self._act(torch.addcmul(x_n, r, hidden[:, 2 * u :]))
        else:
            hidden = self.recurrent_projection(h, recurrent_masks, rows=slice(0, 2 * u))
            r = self._rec_act(x_r + hidden[:, :u])
            z = self._rec_act(x_z + hidden[:, u:])
            h_candidate = h if recurrent_masks is None else h * recurrent_masks[2]
            candidate = self._act(x_n + (r * h_candidate) @ self.weight_hh[2 * u :].t())
        h = torch.lerp(candidate, h, z)  # z * h + (1 - z) * candidate
        return h, [h]

    def first_step(self, projected):
        """``step`` from a zero state: the recurrent product is only the recurrent bias, and h = (1 - z) * cand."""
        u = self.units
        x_r, x_z, x_n = projected[:, :u], projected[:, u : 2 * u], projected[:, 2 * u :]
        if self.reset_after and self.bias_hh is not None:
            r = self._rec_act(x_r + self.bias_hh[:u])
            z = self._rec_act(x_z + self.bias_hh[u : 2 * u])
            candidate = self._act(x_n + r * self.bias_hh[2 * u :])
        else:
            z = self._rec_act(x_z)
            candidate = self._act(x_n)
        h = (1.0 - z) * candidate
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


class GRU(RNN):
    """Gated recurrent unit layer.

    Input ``(batch, timesteps, features)``. Output ``(batch, units)``, or ``(batch, timesteps, units)``
    with ``return_sequences=True``; with ``return_state=True``, ``[output, h]``.
    Weights (Keras layout): ``kernel (features, 3*units)``, ``recurrent_kernel (units, 3*units)``,
    ``bias (2, 3*units)`` (``(3*units,)`` with ``reset_after=False``).
    """

    cell_class = GRUCell

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        reset_after=True,
        **kwargs,
    ):
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            reset_after=reset_after,
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
