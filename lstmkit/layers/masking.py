"""Masking: marks padded timesteps so that the layers after it (and the loss) skip them."""

from __future__ import annotations

import torch

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.utils.checks import check_number

__all__ = ["Masking"]


class Masking(Layer):
    """A timestep is masked (skipped) when *every* feature equals ``mask_value``.

    Input ``(batch, timesteps, features)``; output the same shape, with masked timesteps set to 0 (as
    Keras does), and the mask ``any(inputs != mask_value, axis=-1)`` of shape ``(batch, timesteps)``
    (True = keep) for the next layers. Pad sequences with a value that real data never has in all
    features at once (e.g. ``pad_sequences(..., value=-1.0)`` and ``Masking(mask_value=-1.0)``).
    """

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)  # the shape is kept

    min_ndim = 2
    input_axes = "(batch, timesteps, features)"
    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = check_number(
            mask_value, "mask_value", owner="Masking", meaning="the padding value, e.g. 0.0 or -1.0"
        )

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise InputShapeError(
                f"Layer '{self.name}' (Masking) expects input (batch, timesteps, features); received a "
                f"{len(input_shape)}-D input of shape {format_shape(input_shape)}.",
                self,
                input_shape,
                3,
            )

    def _keep(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.any(inputs != self.mask_value, dim=-1)

    def call(self, inputs):
        return inputs.masked_fill(~self._keep(inputs).unsqueeze(-1), 0.0)

    def compute_mask(self, inputs, mask=None):
        # Keras ignores an incoming mask here: the new mask comes from the values alone.
        return self._keep(torch.as_tensor(inputs))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
