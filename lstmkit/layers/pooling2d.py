"""2-D pooling over rows and columns: MaxPooling2D, AveragePooling2D and their global versions.

Input ``(batch, rows, cols, channels)`` (``data_format='channels_first'``: ``(batch, channels, rows, cols)``).
Padding follows Keras 3 (TensorFlow's rules) on each axis: ``'same'`` gives ``ceil(size / strides)`` outputs,
the odd extra padded row (column) at the end; padded positions never win a max and are not counted in an
average (each window averages its real values only).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import data_format_mode, padding_mode
from lstmkit.layers.conv_nd import (
    channels_axis,
    check_spatial_rank,
    int_tuple,
    output_sizes,
    pad_amounts,
    pad_spatial,
    spatial_axes,
)

__all__ = [
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "MaxPool2D",
    "MaxPooling2D",
]


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D; subclasses implement ``_pool(x, pads)`` on (N, C, H, W)."""

    rank = 2
    expected_ndim = 4
    input_axes = "(batch, rows, cols, channels)"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = int_tuple(pool_size, self.rank, "pool_size", owner)
        # Keras: strides=None means strides=pool_size (windows that do not overlap).
        self.strides = self.pool_size if strides is None else int_tuple(strides, self.rank, "strides", owner)
        self.padding = padding_mode(padding, owner, allow_causal=False)
        self.data_format = data_format_mode(data_format, owner)
        if self.data_format == "channels_first":
            self.input_axes = "(batch, channels, rows, cols)"

    def _sizes(self, shape) -> tuple:
        return tuple(shape[a] for a in spatial_axes(self.rank, self.data_format))

    def check_input_shape(self, input_shape):
        check_spatial_rank(self, input_shape, self.rank)
        sizes = self._sizes(input_shape)
        if 0 in output_sizes(sizes, self.pool_size, self.strides, self.padding):
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) has pool_size={self.pool_size}, larger than its input's "
                f"{format_shape(sizes)} (input shape {format_shape(input_shape)}), so padding='valid' leaves no "
                "output. Use a smaller pool_size, padding='same', or larger inputs.",
                self,
                input_shape,
            )

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        out = output_sizes(self._sizes(input_shape), self.pool_size, self.strides, self.padding)
        for axis, size in zip(spatial_axes(self.rank, self.data_format), out):
            shape[axis] = size
        return tuple(shape)

    def call(self, inputs):
        channels_last = self.data_format == "channels_last"
        x = inputs.movedim(-1, 1) if channels_last else inputs  # (N, C, H, W) for torch
        pads = pad_amounts(tuple(x.shape[2:]), self.pool_size, self.strides, self.padding)
        y = self._pool(x, pads)
        return y.movedim(1, -1) if channels_last else y

    def _pool(self, x, pads):
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


class MaxPooling2D(_Pooling2D):
    """The maximum over windows of ``pool_size`` (rows, cols), moved by ``strides`` (default: ``pool_size``).

    ``(batch, rows, cols, channels)`` -> ``(batch, new_rows, new_cols, channels)``, each new size
    ``(size - pool) // stride + 1`` for ``'valid'`` and ``ceil(size / stride)`` for ``'same'``.
    """

    def _pool(self, x, pads):
        x = pad_spatial(x, pads, value=float("-inf"))  # a padded position never wins
        return F.max_pool2d(x, self.pool_size, self.strides)


class AveragePooling2D(_Pooling2D):
    """The mean over windows of ``pool_size`` (rows, cols), moved by ``strides`` (default: ``pool_size``).

    Shapes as MaxPooling2D. With ``padding='same'`` a window that overlaps the padding averages only its real
    values (Keras's rule), not the zeros.
    """

    def _pool(self, x, pads):
        if not any(before or after for before, after in pads):
            return F.avg_pool2d(x, self.pool_size, self.strides)
        window = math.prod(self.pool_size)
        sums = F.avg_pool2d(pad_spatial(x, pads), self.pool_size, self.strides) * window
        # How many real values each window holds: the same pooling over a plane of ones.
        ones = pad_spatial(x.new_ones((1, 1) + tuple(x.shape[2:])), pads)
        counts = torch.round(F.avg_pool2d(ones, self.pool_size, self.strides) * window)
        return sums / counts


# ---------------------------------------------------------------------------- global pooling
class _GlobalPooling2D(Layer):
    rank = 2
    expected_ndim = 4
    input_axes = "(batch, rows, cols, channels)"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_mode(data_format, type(self).__name__)
        if self.data_format == "channels_first":
            self.input_axes = "(batch, channels, rows, cols)"
        self.keepdims = bool(keepdims)

    def check_input_shape(self, input_shape):
        check_spatial_rank(self, input_shape, self.rank)

    def compute_output_shape(self, input_shape):
        channels = input_shape[channels_axis(self.rank, self.data_format)]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self.rank
        if self.data_format == "channels_last":
            return (input_shape[0], *ones, channels)
        return (input_shape[0], channels, *ones)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum over rows and columns: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``
    (``keepdims=True``: ``(batch, 1, 1, channels)``)."""

    def call(self, inputs):
        return torch.amax(inputs, dim=spatial_axes(self.rank, self.data_format), keepdim=self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean over rows and columns: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``
    (``keepdims=True``: ``(batch, 1, 1, channels)``)."""

    def call(self, inputs):
        return torch.mean(inputs, dim=spatial_axes(self.rank, self.data_format), keepdim=self.keepdims)


# Keras's aliases.
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
