"""Convolution over several spatial axes (Conv2D), and the N-D arithmetic that Conv2D, the 2-D pooling layers
and ConvLSTM share.

Shapes follow Keras 3 (``data_format='channels_last'`` by default): images ``(batch, rows, cols, channels)``;
``'channels_first'``: ``(batch, channels, rows, cols)``. Kernels are in Keras's layout
``(*kernel_size, in_channels // groups, filters)``; torch's ``(filters, in_channels // groups, *kernel_size)`` is
a permuted view of it, so ``get_weights``/``set_weights`` read and write the parameter directly.

Padding follows TensorFlow's rules on each spatial axis, as Keras 3 does: ``'valid'`` none; ``'same'`` gives
``ceil(size / stride)`` outputs and puts the odd extra padded row (column) at the end.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import data_format_mode, output_length, padding_mode, positive_int, same_padding
from lstmkit.utils.checks import is_int

__all__ = ["Conv2D", "Conv3D", "Convolution2D", "Convolution3D"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_AXIS_NAMES = {1: ("steps",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}


# ---------------------------------------------------------------------------- argument checks
def int_tuple(value, rank: int, what: str, owner: str) -> tuple[int, ...]:
    """``3`` -> ``(3, 3)`` for rank 2; ``(3, 2)`` stays; every entry a positive integer (Keras's rule)."""
    if isinstance(value, (tuple, list)):
        if len(value) != rank:
            raise ValueError(
                f"{owner}: {what} must be one positive integer or a tuple of {rank}. Received: {what}={value!r}"
            )
        return tuple(positive_int(v, what, owner) for v in value)
    if not is_int(value):
        raise TypeError(
            f"{owner}: {what} must be one positive integer or a tuple of {rank}. Received: {what}={value!r}"
        )
    return (positive_int(value, what, owner),) * rank


# ---------------------------------------------------------------------------- arithmetic
def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The spatial axes of a ``(batch, ...)`` tensor of ``rank`` spatial dimensions."""
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))


def channels_axis(rank: int, data_format: str) -> int:
    return rank + 1 if data_format == "channels_last" else 1


def windows(kernel_size, dilation_rate) -> tuple[int, ...]:
    """The span of each (dilated) kernel axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation_rate))


def output_sizes(sizes, spans, strides, padding) -> tuple:
    """Output size of each spatial axis (None where the input size is unknown)."""
    return tuple(output_length(n, w, s, padding) for n, w, s in zip(sizes, spans, strides))


def pad_amounts(sizes, spans, strides, padding) -> list[tuple[int, int]]:
    """(before, after) padding of each spatial axis."""
    if padding != "same":
        return [(0, 0)] * len(sizes)
    return [same_padding(n, w, s) for n, w, s in zip(sizes, spans, strides)]


def pad_spatial(x: torch.Tensor, pads, value: float = 0.0) -> torch.Tensor:
    """Pads the trailing spatial axes of a channels-first tensor by ``pads`` [(before, after), ...]."""
    if not any(before or after for before, after in pads):
        return x
    flat = [amount for pair in reversed(pads) for amount in pair]  # F.pad starts from the last axis
    return F.pad(x, flat, value=value)


def convolve(x, kernel, bias, strides, padding: str, dilation_rate, groups: int = 1) -> torch.Tensor:
    """Convolution of a channels-first ``x (batch, in, *spatial)`` with a Keras-layout ``kernel
    (*kernel_size, in // groups, filters)``: returns ``(batch, filters, *out_spatial)``."""
    return convolve_torch(x, torch_kernel(kernel), bias, strides, padding, dilation_rate, groups)


def torch_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """Keras's ``(*kernel_size, in, out)`` layout as torch's ``(out, in, *kernel_size)`` (a view)."""
    rank = kernel.dim() - 2
    return kernel.permute(rank + 1, rank, *range(rank))


def convolve_torch(x, weight, bias, strides, padding: str, dilation_rate, groups: int = 1) -> torch.Tensor:
    """``convolve`` with a torch-layout ``weight (filters, in // groups, *kernel_size)``."""
    rank = x.dim() - 2
    spans = windows(weight.shape[2:], dilation_rate)
    pads = pad_amounts(tuple(x.shape[2:]), spans, strides, padding)
    symmetric = all(before == after for before, after in pads)
    if not symmetric:
        x = pad_spatial(x, pads)
    conv_padding = tuple(before for before, _ in pads) if symmetric else 0
    return _CONV[rank](x, weight, bias, tuple(strides), conv_padding, tuple(dilation_rate), groups)


def frames_hint(layer: Layer, input_shape: tuple, rank: int) -> str:
    """For a rank mismatch: how to feed frame sequences (one axis too many) or single-channel images (one
    axis too few)."""
    wanted = rank + 2
    name = type(layer).__name__
    if len(input_shape) == wanted + 1:
        axes = ", ".join(_AXIS_NAMES[rank])
        return (
            f" For sequences of frames, e.g. (samples, frames, {axes}, channels) in a CNN-LSTM, wrap the layer so "
            f"that it runs on each frame: TimeDistributed({name}(...))."
        )
    if len(input_shape) == wanted - 1:
        return (
            " If the input has a single channel and no channels axis, add one: x = x[..., None] (or "
            f"x.reshape(x.shape + (1,))) and input_shape={format_shape(tuple(input_shape[1:]) + (1,))}."
        )
    return ""


def check_spatial_rank(layer: Layer, input_shape: tuple, rank: int) -> None:
    if len(input_shape) != rank + 2:
        raise InputShapeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects {rank + 2}-D input {layer.input_axes}; received "
            f"a {len(input_shape)}-D input of shape {format_shape(input_shape)}.{frames_hint(layer, input_shape, rank)}",
            layer,
            input_shape,
            rank + 2,
        )


# ---------------------------------------------------------------------------- Conv2D
class _ConvND(Layer):
    """Shared by Conv2D and Conv3D; subclasses set ``rank``, ``expected_ndim`` and ``input_axes``."""

    rank = 2
    expected_ndim = 4
    input_axes = "(batch, rows, cols, channels)"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner, rank = type(self).__name__, self.rank
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size = int_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = int_tuple(strides, rank, "strides", owner)
        self.dilation_rate = int_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.groups = positive_int(groups, "groups", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). Received: "
                f"strides={strides!r}, dilation_rate={dilation_rate!r}. Use one of them."
            )
        if self.filters % self.groups:
            raise ValueError(
                f"{owner}: filters must be divisible by groups. Received: filters={filters}, groups={groups}."
            )
        self.padding = padding_mode(padding, owner, allow_causal=False)
        self.data_format = data_format_mode(data_format, owner)
        if self.data_format == "channels_first":
            spatial = ", ".join(_AXIS_NAMES[rank])
            self.input_axes = f"(batch, channels, {spatial})"
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    constraint_arguments: ClassVar[dict] = {"kernel": "kernel_constraint", "bias": "bias_constraint"}

    # ------------------------------------------------------------------ shapes
    def check_input_shape(self, input_shape):
        check_spatial_rank(self, input_shape, self.rank)
        axis = channels_axis(self.rank, self.data_format)
        channels = input_shape[axis]
        name = f"Layer '{self.name}' ({type(self).__name__})"
        if channels is None:
            raise InputShapeError(
                f"{name} needs the number of channels (axis {axis}) to be known; received input shape "
                f"{format_shape(input_shape)}.",
                self,
                input_shape,
            )
        if channels % self.groups:
            raise InputShapeError(
                f"{name} has groups={self.groups}, which must divide the {channels} input channels (input shape "
                f"{format_shape(input_shape)}).",
                self,
                input_shape,
            )
        built = self.built_input_shape
        if built is not None and built[axis] != channels:
            raise InputShapeError(
                f"{name} was built for inputs with {built[axis]} channels, shape {format_shape(built)}; received "
                f"shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )
        sizes = tuple(input_shape[a] for a in spatial_axes(self.rank, self.data_format))
        spans = windows(self.kernel_size, self.dilation_rate)
        if 0 in output_sizes(sizes, spans, self.strides, self.padding):
            raise InputShapeError(
                f"{name} has a kernel spanning {format_shape(spans)}, larger than its input's "
                f"{format_shape(sizes)} (input shape {format_shape(input_shape)}), so padding='valid' leaves no "
                "output. Use padding='same', a smaller kernel_size, or larger inputs.",
                self,
                input_shape,
            )

    def compute_output_shape(self, input_shape):
        sizes = tuple(input_shape[a] for a in spatial_axes(self.rank, self.data_format))
        out = output_sizes(sizes, windows(self.kernel_size, self.dilation_rate), self.strides, self.padding)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, self.filters)
        return (input_shape[0], self.filters, *out)

    # ------------------------------------------------------------------ weights
    def build(self, input_shape):
        channels = input_shape[channels_axis(self.rank, self.data_format)]
        # Keras layout, so that the initializer's fans are Keras's.
        self.kernel = self._new_weight(
            self.kernel_size + (channels // self.groups, self.filters), self.kernel_initializer
        )
        self.bias = self._new_weight((self.filters,), self.bias_initializer) if self.use_bias else None

    def regularization_losses(self):
        return self._penalties(
            (self.kernel_regularizer, getattr(self, "kernel", None)),
            (self.bias_regularizer, getattr(self, "bias", None)),
        )

    # ------------------------------------------------------------------ computing
    def call(self, inputs):
        channels_last = self.data_format == "channels_last"
        x = (
            inputs.movedim(-1, 1) if channels_last else inputs
        )  # a view: torch's conv reads channels-last memory
        if x.dim() != self.rank + 2 or x.shape[1] != self.kernel.shape[-2] * self.groups:
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        y = convolve(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate, self.groups)
        return self.activation(y.movedim(1, -1) if channels_last else y)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv2D(_ConvND):
    """2-D convolution: ``activation(conv(inputs, kernel) + bias)`` over rows and columns.

    Input ``(batch, rows, cols, channels)`` (``data_format='channels_first'``: ``(batch, channels, rows,
    cols)``). Output ``(batch, new_rows, new_cols, filters)``, each new size ``(size - dilation * (k - 1) - 1)
    // stride + 1`` for ``'valid'`` padding and ``ceil(size / stride)`` for ``'same'``.
    Weights (Keras layout): ``kernel (kernel_rows, kernel_cols, channels // groups, filters)``,
    ``bias (filters,)``.
    """

    rank = 2
    expected_ndim = 4
    input_axes = "(batch, rows, cols, channels)"


class Conv3D(_ConvND):
    """3-D convolution over depth (or time), rows and columns, e.g. the last layer of Keras's next-frame
    prediction example after ConvLSTM2D.

    Input ``(batch, depth, rows, cols, channels)`` (channels-first: ``(batch, channels, depth, rows, cols)``);
    output ``(batch, new_depth, new_rows, new_cols, filters)``, sizes as in Conv2D.
    Weights (Keras layout): ``kernel (kd, kr, kc, channels // groups, filters)``, ``bias (filters,)``.
    """

    rank = 3
    expected_ndim = 5
    input_axes = "(batch, depth, rows, cols, channels)"


# Keras's aliases.
Convolution2D = Conv2D
Convolution3D = Conv3D
