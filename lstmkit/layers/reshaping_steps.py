"""Layers that change the number of steps of a sequence ``(batch, steps, features)``: UpSampling1D,
ZeroPadding1D and Cropping1D. As in Keras, none of them passes a mask on."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import check_rank, data_format_mode, positive_int, time_distributed_hint

__all__ = ["Cropping1D", "UpSampling1D", "ZeroPadding1D"]


def _pair(value, what: str, owner: str) -> tuple[int, int]:
    """``n`` -> (n, n); ``(a, b)`` -> (a, b); every entry an int >= 0."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 0 for v in pair
    ):
        raise ValueError(
            f"{owner}: {what} must be a non-negative integer or a tuple of two, (before, after). "
            f"Received: {what}={value!r}"
        )
    return int(pair[0]), int(pair[1])


class _Steps1D(Layer):
    expected_ndim = 3
    input_axes = "(batch, steps, features)"

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, time_distributed_hint(self, input_shape))


class UpSampling1D(_Steps1D):
    """Repeats each step ``size`` times: ``(batch, steps, features)`` -> ``(batch, steps * size, features)``."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_int(size, "size", "UpSampling1D")

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def call(self, inputs):
        return inputs.repeat_interleave(self.size, dim=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class ZeroPadding1D(_Steps1D):
    """Adds zero steps at the start and end: ``padding=n`` adds n at each end, ``padding=(a, b)`` a before and
    b after. ``(batch, steps, features)`` -> ``(batch, steps + a + b, features)``; with
    ``data_format='channels_first'`` the input is ``(batch, features, steps)``.
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding, "padding", "ZeroPadding1D")
        self.data_format = data_format_mode(data_format, "ZeroPadding1D")
        if self.data_format == "channels_first":
            self.input_axes = "(batch, features, steps)"

    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        axis = self._steps_axis()
        if shape[axis] is not None:
            shape[axis] += sum(self.padding)
        return tuple(shape)

    def call(self, inputs):
        before, after = self.padding
        if self.data_format == "channels_first":
            return F.pad(inputs, (before, after))
        return F.pad(inputs, (0, 0, before, after))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping1D(_Steps1D):
    """Removes steps at the start and end: ``cropping=(a, b)`` drops a steps before and b after (an int n:
    n at each end). ``(batch, steps, features)`` -> ``(batch, steps - a - b, features)``.
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "cropping", "Cropping1D")

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        steps = input_shape[1]
        if steps is not None and sum(self.cropping) >= steps:
            raise InputShapeError(
                f"Layer '{self.name}' (Cropping1D) crops {self.cropping[0]} steps before and {self.cropping[1]} after, "
                f"which leaves nothing of its input of {steps} steps (shape {format_shape(input_shape)}). "
                "The cropping must be smaller than the input length.",
                self,
                input_shape,
            )

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps - sum(self.cropping), input_shape[2])

    def call(self, inputs):
        if inputs.shape[1] <= sum(self.cropping):
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        before, after = self.cropping
        return inputs[:, before : inputs.shape[1] - after]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}
