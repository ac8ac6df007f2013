"""1-D pooling over the steps of a sequence: MaxPooling1D, AveragePooling1D and their global versions.

Padding follows Keras 3 (TensorFlow's rules): ``'same'`` pads so that the output has
``ceil(steps / strides)`` steps, the odd extra step at the end; padded steps never win a max and are
not counted in an average (each window averages its real steps only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import (
    check_rank,
    data_format_mode,
    one_int,
    output_length,
    padding_mode,
    same_padding,
    time_distributed_hint,
)

__all__ = [
    "AveragePooling1D",
    "AvgPool1D",
    "GlobalAveragePooling1D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "GlobalMaxPooling1D",
    "MaxPool1D",
    "MaxPooling1D",
]


class _Pooling1D(Layer):
    """Shared by MaxPooling1D and AveragePooling1D. Subclasses implement ``_pool(x, left, right)`` on (N, C, L)."""

    expected_ndim = 3
    input_axes = "(batch, steps, channels)"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = (one_int(pool_size, "pool_size", owner),)
        # Keras: strides=None means strides=pool_size (windows that do not overlap).
        self.strides = self.pool_size if strides is None else (one_int(strides, "strides", owner),)
        self.padding = padding_mode(padding, owner, allow_causal=False)
        self.data_format = data_format_mode(data_format, owner)
        if self.data_format == "channels_first":
            self.input_axes = "(batch, channels, steps)"

    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, time_distributed_hint(self, input_shape))
        steps = input_shape[self._steps_axis()]
        if output_length(steps, self.pool_size[0], self.strides[0], self.padding) == 0:
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) has pool_size={self.pool_size[0]}, but its input has "
                f"only {steps} steps (shape {format_shape(input_shape)}), so padding='valid' leaves no output. Use "
                "a smaller pool_size, padding='same', or longer input sequences.",
                self,
                input_shape,
            )

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        axis = self._steps_axis()
        shape[axis] = output_length(shape[axis], self.pool_size[0], self.strides[0], self.padding)
        return tuple(shape)

    def call(self, inputs):
        x = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs  # (N, C, L) for torch
        left, right = (
            same_padding(x.shape[-1], self.pool_size[0], self.strides[0])
            if self.padding == "same"
            else (0, 0)
        )
        y = self._pool(x, left, right)
        return y.transpose(1, 2) if self.data_format == "channels_last" else y

    def _pool(self, x, left, right):
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling1D):
    """The maximum over windows of ``pool_size`` steps, moved by ``strides`` (default: ``pool_size``).

    Input ``(batch, steps, channels)``; output ``(batch, new_steps, channels)`` with ``new_steps``
    ``(steps - pool_size) // strides + 1`` for ``'valid'`` and ``ceil(steps / strides)`` for ``'same'``.
    """

    def _pool(self, x, left, right):
        if left or right:
            x = F.pad(x, (left, right), value=float("-inf"))  # a padded step never wins
        return F.max_pool1d(x, self.pool_size[0], self.strides[0])


class AveragePooling1D(_Pooling1D):
    """The mean over windows of ``pool_size`` steps, moved by ``strides`` (default: ``pool_size``).

    Shapes as MaxPooling1D. With ``padding='same'`` a window that overlaps the padding averages only
    its real steps (Keras's rule), not the zeros.

    Keras 3 makes ``pool_size`` required here; lstmkit keeps Keras 2's default of 2.
    """

    def _pool(self, x, left, right):
        size, stride = self.pool_size[0], self.strides[0]
        if not (left or right):
            return F.avg_pool1d(x, size, stride)
        padded = F.pad(x, (left, right))
        sums = F.avg_pool1d(padded, size, stride) * size
        # How many real steps each window holds: the same pooling over a row of ones.
        ones = F.pad(x.new_ones((1, 1, x.shape[-1])), (left, right))
        counts = torch.round(F.avg_pool1d(ones, size, stride) * size)
        return sums / counts


# ---------------------------------------------------------------------------- global pooling
class _GlobalPooling1D(Layer):
    expected_ndim = 3
    input_axes = "(batch, steps, channels)"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_mode(data_format, type(self).__name__)
        if self.data_format == "channels_first":
            self.input_axes = "(batch, channels, steps)"
        self.keepdims = bool(keepdims)

    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, time_distributed_hint(self, input_shape))

    def compute_output_shape(self, input_shape):
        channels = input_shape[2] if self.data_format == "channels_last" else input_shape[1]
        if not self.keepdims:
            return (input_shape[0], channels)
        return (
            (input_shape[0], 1, channels)
            if self.data_format == "channels_last"
            else (input_shape[0], channels, 1)
        )

    def compute_mask(self, inputs, mask=None):
        return None  # the steps axis is gone

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over all steps: ``(batch, steps, channels)`` -> ``(batch, channels)``
    (``keepdims=True``: ``(batch, 1, channels)``).

    As in Keras, a mask is not used: padded steps take part in the maximum.
    """

    def call(self, inputs):
        return torch.amax(inputs, dim=self._steps_axis(), keepdim=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps: ``(batch, steps, channels)`` -> ``(batch, channels)``
    (``keepdims=True``: ``(batch, 1, channels)``).

    With a mask (e.g. from ``Embedding(mask_zero=True)``) only unmasked steps are averaged. As in Keras,
    a sample whose steps are all masked gives NaN (0 / 0).
    """

    supports_masking = True

    def call(self, inputs, mask=None):
        axis = self._steps_axis()
        if mask is None:
            return torch.mean(inputs, dim=axis, keepdim=self.keepdims)
        keep = mask.to(torch.bool).unsqueeze(2 if self.data_format == "channels_last" else 1)
        total = torch.where(keep, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        count = keep.to(inputs.dtype).sum(dim=axis, keepdim=self.keepdims)
        return total.sum(dim=axis, keepdim=self.keepdims) / count


# Keras's aliases.
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D


# Keras 2's `keras.layers.pooling` also held the 2-D layers; they live in their own module (which does not
# import this one, so there is no import cycle).
from lstmkit.layers.pooling2d import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)

__all__ += [
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "MaxPool2D",
    "MaxPooling2D",
]
