"""Regularization layers active only in training: Dropout, SpatialDropout1D and GaussianNoise.

In training (``model.fit``, or a layer in ``train()`` mode) they perturb their input; in inference
(``evaluate``, ``predict``, ``eval()`` mode) they return it unchanged. Masks pass through.

Dropout is *inverted* dropout, as in Keras: kept values are scaled by ``1 / (1 - rate)`` so that the
expected output equals the input and nothing needs rescaling at inference.

Randomness: without ``seed``, torch's global generator (seeded by ``lstmkit.utils.set_random_seed``);
with ``seed``, the layer's own generator, seeded once, so that a fresh layer with the same seed draws
the same sequence of masks. The draws differ from Keras's (a different generator), not their law.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lstmkit.layers.base import Layer, format_shape
from lstmkit.layers.conv import check_rank
from lstmkit.utils.checks import check_int, check_number, is_int

__all__ = ["Dropout", "GaussianNoise", "SpatialDropout1D"]


def _fraction(value, what: str, owner: str) -> float:
    return check_number(value, what, 0, 1, owner=owner)


def _seed(seed, owner: str):
    return check_int(seed, "seed", 0, allow_none=True, owner=owner)


class _RandomLayer(Layer):
    """Holds the optional seeded generator (one per device, made on first use)."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)  # the shape is kept

    supports_masking = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _seed(seed, type(self).__name__)
        self._generators: dict = {}

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape)  # no weights: any size on any axis is fine

    def _generator(self, device: torch.device):
        if self.seed is None:
            return None
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def _keep_mask(self, shape, rate: float, like: torch.Tensor) -> torch.Tensor:
        """1 / (1 - rate) where kept, 0 where dropped, of ``shape`` (broadcast against ``like``)."""
        keep = torch.empty(shape, dtype=like.dtype, device=like.device)
        keep.bernoulli_(1.0 - rate, generator=self._generator(like.device))
        return keep * (1.0 / (1.0 - rate))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class Dropout(_RandomLayer):
    """Sets a fraction ``rate`` of the input values to 0 in training and scales the others by
    ``1 / (1 - rate)``. Output shape = input shape.

    ``noise_shape`` (batch axis included, e.g. ``(None, 1, features)``) drops values together along the
    axes where it is 1; ``None`` entries take the input's size.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _fraction(rate, "rate", "Dropout")
        self.noise_shape = self._check_noise_shape(noise_shape)

    @staticmethod
    def _check_noise_shape(noise_shape):
        if noise_shape is None:
            return None
        if isinstance(noise_shape, (int, np.integer)):
            noise_shape = (noise_shape,)
        try:
            dims = tuple(noise_shape)
        except TypeError:
            raise TypeError(
                f"Dropout: noise_shape must be a tuple such as (None, 1, features) (batch axis first). "
                f"Received: noise_shape={noise_shape!r}"
            ) from None
        for d in dims:
            if d is not None and (not is_int(d) or d < 1):
                raise ValueError(
                    f"Dropout: noise_shape must contain positive integers or None. Received: noise_shape={noise_shape!r}"
                )
        return tuple(None if d is None else int(d) for d in dims)

    def _resolved_noise_shape(self, inputs):
        shape = tuple(inputs.shape)
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(
                f"Layer '{self.name}' (Dropout): noise_shape={format_shape(self.noise_shape)} has {len(self.noise_shape)} "
                f"entries but the input has {len(shape)} axes (shape {format_shape(shape)}). Give one entry per axis, "
                "batch axis first, e.g. noise_shape=(None, 1, features)."
            )
        resolved = tuple(n if d is None else d for d, n in zip(self.noise_shape, shape))
        for d, n in zip(resolved, shape):
            if d not in (1, n):
                raise ValueError(
                    f"Layer '{self.name}' (Dropout): noise_shape={format_shape(self.noise_shape)} does not fit the input "
                    f"shape {format_shape(shape)}: each entry must be 1, None or the input's size on that axis (use "
                    "None for the batch axis, whose size varies)."
                )
        return resolved

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return inputs * 0.0
        shape = self._resolved_noise_shape(inputs)
        if self.seed is None and shape == tuple(inputs.shape):
            return F.dropout(inputs, self.rate, True)  # torch's fused kernel, same law
        return inputs * self._keep_mask(shape, self.rate, inputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape}


class SpatialDropout1D(Dropout):
    """Dropout of whole channels: for each sample, a channel is dropped at every step or at none.

    Input ``(batch, steps, channels)``; output the same shape.
    """

    expected_ndim = 3
    input_axes = "(batch, steps, channels)"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def _resolved_noise_shape(self, inputs):
        if inputs.dim() != 3:  # the base class checks the rank only on the first call
            self.check_input_shape(tuple(inputs.shape))
        return (inputs.shape[0], 1, inputs.shape[2])

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        return config


class GaussianNoise(_RandomLayer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training. Output shape = input shape.

    Keras accepts ``stddev`` between 0 and 1 only; so does lstmkit.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _fraction(stddev, "stddev", "GaussianNoise")

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(
            inputs.shape, dtype=inputs.dtype, device=inputs.device, generator=self._generator(inputs.device)
        )
        return inputs + noise * self.stddev

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}
