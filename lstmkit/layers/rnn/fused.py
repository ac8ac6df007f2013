"""PyTorch's fused recurrent kernels (``torch.lstm`` / ``torch.gru`` / ``torch.rnn_tanh`` / ``torch.rnn_relu``;
cuDNN on a GPU) called on a cell's own parameters.

A cell that can use them returns its weights in torch's order from ``fused_weights()``:
``[weight_ih (k*units, input_dim), weight_hh (k*units, units), bias_ih (k*units), bias_hh (k*units)]``.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["run_fused"]

_KERNELS = {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}


def _flatten_for_cudnn(mode: str, weights: list[torch.Tensor], units: int) -> None:
    """Put the weights into one contiguous cuDNN buffer (what ``nn.LSTM.flatten_parameters`` does),
    so that cuDNN does not copy them on every call. Parameters keep their identity."""
    from torch.backends.cudnn import rnn as cudnn_rnn

    with torch.no_grad():
        torch._cudnn_rnn_flatten_weight(
            weights,
            len(weights),
            weights[0].shape[1],
            cudnn_rnn.get_cudnn_mode(mode),
            units,
            0,
            1,
            True,
            False,
        )


class FusedKernelCache:
    """Remembers whether a cell's weights are already flattened for cuDNN at their current address."""

    def __init__(self):
        self._flat_address = None

    def prepare(self, mode: str, weights: list[torch.Tensor], units: int) -> None:
        if not weights[0].is_cuda:
            return
        address = weights[0].data_ptr()
        if address == self._flat_address:
            return
        try:
            from torch.backends import cudnn

            if cudnn.is_acceptable(weights[0]):
                _flatten_for_cudnn(mode, weights, units)
        except RuntimeError as error:  # still correct unflattened: cuDNN then copies the weights per call
            warnings.warn(
                f"Could not lay out the recurrent weights for cuDNN ({error}); continuing without.",
                RuntimeWarning,
                stacklevel=3,
            )
        self._flat_address = weights[0].data_ptr()


def run_fused(
    mode: str, inputs: torch.Tensor, states: list[torch.Tensor], weights: list[torch.Tensor], training: bool
):
    """One fused recurrent pass.

    inputs: (batch, timesteps, features), batch first. states: [h] or [h, c], each (batch, units).
    Returns ``(outputs (batch, timesteps, units), final_states)`` with final_states like ``states``.
    """
    kernel = _KERNELS[mode]
    has_biases = len(weights) == 4
    if mode == "LSTM":
        hx = (states[0].unsqueeze(0), states[1].unsqueeze(0))
        outputs, h, c = kernel(inputs, hx, weights, has_biases, 1, 0.0, training, False, True)
        return outputs, [h[0], c[0]]
    outputs, h = kernel(inputs, states[0].unsqueeze(0), weights, has_biases, 1, 0.0, training, False, True)
    return outputs, [h[0]]
