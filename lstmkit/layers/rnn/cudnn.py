"""Keras 2's CuDNNLSTM and CuDNNGRU: an LSTM and a GRU(reset_after=True) in the one configuration that
cuDNN's kernel computes (tanh and sigmoid, biases, no dropout).

They run wherever lstmkit runs (on a GPU through cuDNN, elsewhere through PyTorch's fused CPU kernel), and
hold Keras 2's weight layout, so that their files and ``get_weights`` lists load unchanged:

- CuDNNLSTM: ``kernel (features, 4*units)``, ``recurrent_kernel (units, 4*units)``, ``bias (8*units,)``: the
  input bias, then a separate recurrent bias (gates i, f, c, o each). Both are added, as cuDNN does; with
  ``unit_forget_bias`` the recurrent forget bias starts at 1.
- CuDNNGRU: ``kernel (features, 3*units)``, ``recurrent_kernel (units, 3*units)``, ``bias (6*units,)``: the
  input bias then the recurrent bias (gates z, r, h), i.e. GRU's ``(2, 3*units)`` bias flattened.
- In both, each gate's kernel block is in cuDNN's arrangement, not the standard layers': the input block is
  the ``(units, features)`` matrix reshaped to ``(features, units)`` and the recurrent block is transposed
  (see ``_cudnn_kernel_views``). Keras 2 converted between the two when loading files across layer types;
  lstmkit's Keras-file reader does the same.

Arguments the Keras 2 layers never took (``activation``, ``dropout``, ``unroll``, ...) raise an error that
names the standard layer to use instead. Unlike Keras 2, masks are supported (the generic step loop runs).
"""

from __future__ import annotations

import inspect

import torch

from lstmkit.layers.base import KerasWeight, Layer
from lstmkit.layers.rnn.base import RNN
from lstmkit.layers.rnn.cell import RecurrentCell, torch_to_keras
from lstmkit.layers.rnn.gru import GRU, GRUCell
from lstmkit.layers.rnn.lstm import LSTM, LSTMCell

__all__ = ["CuDNNGRU", "CuDNNLSTM"]


def _cudnn_kernel_views(cell) -> list[KerasWeight]:
    """``kernel`` and ``recurrent_kernel`` as Keras 2's cuDNN layers hold them.

    Those layers hand each gate's block of their kernel to cuDNN flattened row-major, and cuDNN reads it as a
    row-major ``(units, inputs)`` matrix; so the input kernel's gate block is torch's ``(units, inputs)`` matrix
    reshaped (not transposed) to ``(inputs, units)``, and the recurrent kernel's gate block is torch's
    ``(units, units)`` matrix as it is (the transpose of the standard layout). Gates in Keras's order."""
    units, order, gates = cell.units, cell.torch_order, cell.gates

    def view(name, param, to_keras, from_keras):
        def read():
            blocks = param.split(units, dim=0)  # torch's gate order
            return torch.cat([to_keras(blocks[order.index(g)]) for g in range(gates)], dim=1)

        def write(value):
            blocks = value.to(dtype=param.dtype, device=param.device).split(units, dim=1)  # Keras's order
            param.copy_(torch.cat([from_keras(blocks[order[j]]) for j in range(gates)], dim=0))

        return KerasWeight(
            f"{cell.name}/{name}", (param.shape[1], gates * units), read, write, param.requires_grad
        )

    inputs = cell.weight_ih.shape[1]
    return [
        view(
            "kernel",
            cell.weight_ih,
            lambda w: w.reshape(inputs, units),
            lambda k: k.reshape(units, inputs),
        ),
        view("recurrent_kernel", cell.weight_hh, lambda w: w, lambda k: k),
    ]


def _signature_names(*functions) -> set[str]:
    return {
        name
        for function in functions
        for name in inspect.signature(function).parameters
        if name not in ("self", "kwargs", "cell")
    }


class _CuDNNMixin:
    """What CuDNNLSTM and CuDNNGRU share: the argument checks and the Keras 2 config."""

    standard: type  # LSTM or GRU
    _standard_extra = ""  # the extra argument of the standard layer that gives the cuDNN configuration

    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        # Not the standard layer's arguments (activation, dropout, ...): Keras 2's cuDNN layers never took them.
        return _signature_names(cls.__init__, RNN.__init__, Layer.__init__) - {
            "unroll",
            "zero_output_for_mask",
        }

    @classmethod
    def _check_arguments(cls, kwargs: dict) -> None:
        own = cls._accepted_kwargs()
        for key in kwargs:
            if key not in own and key in _signature_names(cls.standard.__init__, RNN.__init__):
                raise TypeError(
                    f"{cls.__name__} does not take the argument {key}=: Keras 2's cuDNN layers only compute tanh "
                    "and sigmoid activations, with biases and without dropout or unrolling. For that argument use "
                    f"the standard layer instead, {cls.standard.__name__}(units, {key}=...{cls._standard_extra}): it "
                    "takes every argument, and runs the fused kernel (cuDNN on a GPU) whenever its configuration is "
                    "the cuDNN one."
                )

    @staticmethod
    def _check_time_major(time_major, owner: str) -> None:
        if time_major:
            raise ValueError(
                f"{owner}: time_major=True (inputs shaped (timesteps, batch, features)) is not supported. "
                "Transpose the data to (batch, timesteps, features), e.g. x.transpose(1, 0, 2), and drop time_major."
            )

    def get_config(self):
        config = RNN.get_config(self)
        keep = self._accepted_kwargs() | {"name", "trainable", "dtype", "batch_input_shape"}
        config = {key: value for key, value in config.items() if key in keep}
        config["time_major"] = False
        return config


# ---------------------------------------------------------------------------- CuDNNLSTM
class _CuDNNLSTMCell(LSTMCell):
    """LSTMCell with cuDNN's second (recurrent) bias, trainable and added to the input bias."""

    def _has_recurrent_bias(self):
        return True

    def _initial_bias(self):
        return RecurrentCell._initial_bias(self)  # the forget gate's 1.0 goes into the recurrent bias

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            with torch.no_grad():
                self.bias_hh[self.units : 2 * self.units] = 1.0  # torch's gate order is Keras's: i, f, c, o

    def project_inputs(self, inputs, gate_masks=None):
        projected = super().project_inputs(inputs, gate_masks)
        return projected + self.bias_hh if self.bias_hh is not None else projected

    def _bias_view(self):
        units, order, b_ih, b_hh = self.units, self.torch_order, self.bias_ih, self.bias_hh

        def read():
            return torch.cat([torch_to_keras(b_ih, units, order), torch_to_keras(b_hh, units, order)])

        def write(value):
            value = value.to(dtype=b_ih.dtype, device=b_ih.device)
            b_ih.copy_(value[: 4 * units])
            b_hh.copy_(value[4 * units :])

        return KerasWeight(f"{self.name}/bias", (8 * units,), read, write, b_ih.requires_grad)

    def keras_weights(self):
        return _cudnn_kernel_views(self) + [self._bias_view()]


class CuDNNLSTM(_CuDNNMixin, LSTM):
    """Keras 2's cuDNN LSTM: ``LSTM`` with tanh/sigmoid and a separate recurrent bias.

    Input ``(batch, timesteps, features)``. Output ``(batch, units)``, or ``(batch, timesteps, units)`` with
    ``return_sequences=True``; with ``return_state=True``, ``[output, h, c]``.
    Weights (Keras 2 layout): ``kernel (features, 4*units)``, ``recurrent_kernel (units, 4*units)``,
    ``bias (8*units,)`` (input bias, then recurrent bias).
    """

    cell_class = _CuDNNLSTMCell
    standard = LSTM

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        time_major=False,
        **kwargs,
    ):
        self._check_arguments(kwargs)
        self._check_time_major(time_major, "CuDNNLSTM")
        cell = _CuDNNLSTMCell(
            units,
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
            dtype=kwargs.get("dtype"),
        )
        RNN.__init__(
            self,
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )


# ---------------------------------------------------------------------------- CuDNNGRU
class _CuDNNGRUCell(GRUCell):
    """GRUCell(reset_after=True) whose bias reads and writes as Keras 2's flat ``(6*units,)`` vector."""

    def _bias_view(self):
        stacked = super()._bias_view()  # (2, 3*units): input bias row, recurrent bias row
        units = self.units

        def write(value):
            stacked.write(value.reshape(2, 3 * units))

        return KerasWeight(
            stacked.name, (6 * units,), lambda: stacked.read().reshape(-1), write, stacked.trainable
        )

    def keras_weights(self):
        return _cudnn_kernel_views(self) + [self._bias_view()]


class CuDNNGRU(_CuDNNMixin, GRU):
    """Keras 2's cuDNN GRU: ``GRU(reset_after=True)`` with tanh/sigmoid.

    Input ``(batch, timesteps, features)``. Output ``(batch, units)``, or ``(batch, timesteps, units)`` with
    ``return_sequences=True``; with ``return_state=True``, ``[output, h]``.
    Weights (Keras 2 layout): ``kernel (features, 3*units)``, ``recurrent_kernel (units, 3*units)``,
    ``bias (6*units,)`` (input bias, then recurrent bias; gates z, r, h).
    """

    cell_class = _CuDNNGRUCell
    standard = GRU
    _standard_extra = ", reset_after=True"

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        time_major=False,
        **kwargs,
    ):
        self._check_arguments(kwargs)
        self._check_time_major(time_major, "CuDNNGRU")
        cell = _CuDNNGRUCell(
            units,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            reset_after=True,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dtype=kwargs.get("dtype"),
        )
        RNN.__init__(
            self,
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
