"""Conv1D: a 1-D convolution over the steps of a sequence, with Keras 3's arguments, defaults and math.

Also the argument checks and padding arithmetic shared with the 1-D pooling layers. Padding follows
TensorFlow's rules, which Keras 3 documents: ``'valid'`` uses no padding; ``'same'`` pads so that the
output has ``ceil(steps / strides)`` steps, putting the odd extra step at the end; ``'causal'`` pads
``dilation_rate * (kernel_size - 1)`` steps at the start only, so output step t sees inputs <= t.
"""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.utils.checks import check_int

__all__ = ["Conv1D", "Convolution1D"]


# ---------------------------------------------------------------------------- argument checks
def positive_int(value, what: str, owner: str) -> int:
    """``value`` as an int >= 1, or a ValueError naming ``owner`` and ``what``."""
    return check_int(value, what, 1, owner=owner)


def one_int(value, what: str, owner: str) -> int:
    """A 1-D size given as ``3``, ``(3,)`` or ``[3]`` (Keras stores it as a 1-tuple) -> 3."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(
                f"{owner}: {what} must be one positive integer (or a tuple of one) for a 1-D layer. "
                f"Received: {what}={value!r}"
            )
        value = value[0]
    return positive_int(value, what, owner)


def padding_mode(padding, owner: str, allow_causal: bool) -> str:
    valid = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in valid:
        raise ValueError(
            f"{owner}: padding must be one of {', '.join(repr(v) for v in valid)}. Received: padding={padding!r}"
        )
    return mode


def data_format_mode(data_format, owner: str) -> str:
    """None means Keras's default, 'channels_last' (steps before channels)."""
    if data_format is None:
        return "channels_last"
    mode = data_format.lower() if isinstance(data_format, str) else data_format
    if mode not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{owner}: data_format must be 'channels_last' (input (batch, steps, channels), the default) or "
            f"'channels_first' (input (batch, channels, steps)). Received: data_format={data_format!r}"
        )
    return mode


def same_padding(steps: int, window: int, stride: int) -> tuple[int, int]:
    """(left, right) padding of TensorFlow's 'SAME' rule: output ceil(steps / stride), extra step on the right."""
    out = -(-steps // stride)
    total = max((out - 1) * stride + window - steps, 0)
    return total // 2, total - total // 2


def output_length(steps, window: int, stride: int, padding: str):
    """Output steps of a sliding window of (effective) size ``window``; None if ``steps`` is unknown."""
    if steps is None:
        return None
    if padding == "valid":
        return (steps - window) // stride + 1 if steps >= window else 0
    return -(-steps // stride)  # 'same', and 'causal' (which pads window - 1 on the left)


def check_rank(layer: Layer, input_shape: tuple, extra: str = "") -> None:
    """The rank part of ``Layer.check_input_shape``, for layers whose fixed axis is not the last one."""
    if layer.expected_ndim is not None and len(input_shape) != layer.expected_ndim:
        raise InputShapeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects {layer.expected_ndim}-D input "
            f"{layer.input_axes}; received a {len(input_shape)}-D input of shape {format_shape(input_shape)}.{extra}",
            layer,
            input_shape,
            layer.expected_ndim,
        )


def time_distributed_hint(layer: Layer, input_shape: tuple) -> str:
    """For input with one axis too many: the sentence that tells how to apply the layer to each timestep."""
    if layer.expected_ndim is None or len(input_shape) != layer.expected_ndim + 1:
        return ""
    return (
        " For input with one more axis, e.g. (batch, subsequences, steps, channels) in a CNN-LSTM, wrap the "
        f"layer: TimeDistributed({type(layer).__name__}(...))."
    )


# ---------------------------------------------------------------------------- Conv1D
class Conv1D(Layer):
    """1-D convolution: ``activation(conv(inputs, kernel) + bias)`` over the steps axis.

    Input ``(batch, steps, channels)`` (``data_format='channels_first'``: ``(batch, channels, steps)``).
    Output ``(batch, new_steps, filters)`` (or ``(batch, filters, new_steps)``) where ``new_steps`` is
    ``(steps - dilation_rate * (kernel_size - 1) - 1) // strides + 1`` for ``'valid'`` padding and
    ``ceil(steps / strides)`` for ``'same'`` and ``'causal'``.
    Weights (Keras layout): ``kernel (kernel_size, channels // groups, filters)``, ``bias (filters,)``.
    """

    expected_ndim = 3
    input_axes = "(batch, steps, channels)"

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
        owner = type(self).__name__
        self.data_format = data_format_mode(data_format, owner)  # read by _shape_from_input_dim
        super().__init__(**kwargs)
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size = (one_int(kernel_size, "kernel_size", owner),)
        self.strides = (one_int(strides, "strides", owner),)
        self.dilation_rate = (one_int(dilation_rate, "dilation_rate", owner),)
        self.groups = positive_int(groups, "groups", owner)
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(
                f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). Received: "
                f"strides={strides!r}, dilation_rate={dilation_rate!r}. Use one of them."
            )
        if self.filters % self.groups:
            raise ValueError(
                f"{owner}: filters must be divisible by groups. Received: filters={filters}, groups={groups}."
            )
        self.padding = padding_mode(padding, owner, allow_causal=True)
        if self.data_format == "channels_first":
            self.input_axes = "(batch, channels, steps)"
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    constraint_arguments: ClassVar[dict] = {"kernel": "kernel_constraint", "bias": "bias_constraint"}

    def _shape_from_input_dim(self, input_dim):
        # Keras 2's Conv1D(..., input_dim=channels): any number of steps.
        return (None, input_dim) if self.data_format == "channels_last" else (input_dim, None)

    # ------------------------------------------------------------------ shapes
    def _axes(self) -> tuple[int, int]:
        """(steps axis, channels axis) of the input and output."""
        return (1, 2) if self.data_format == "channels_last" else (2, 1)

    @property
    def _window(self) -> int:
        return self.dilation_rate[0] * (self.kernel_size[0] - 1) + 1

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, time_distributed_hint(self, input_shape))
        steps_axis, channels_axis = self._axes()
        channels, steps = input_shape[channels_axis], input_shape[steps_axis]
        if channels is None:
            raise InputShapeError(
                f"Layer '{self.name}' (Conv1D) needs the number of channels (axis {channels_axis}) to be known; "
                f"received input shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )
        if channels % self.groups:
            raise InputShapeError(
                f"Layer '{self.name}' (Conv1D) has groups={self.groups}, which must divide the {channels} input "
                f"channels (input shape {format_shape(input_shape)}).",
                self,
                input_shape,
            )
        built = self.built_input_shape
        if built is not None and built[channels_axis] != channels:
            raise InputShapeError(
                f"Layer '{self.name}' (Conv1D) was built for inputs with {built[channels_axis]} channels, shape "
                f"{format_shape(built)}; received shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )
        if output_length(steps, self._window, self.strides[0], self.padding) == 0:
            raise InputShapeError(
                f"Layer '{self.name}' (Conv1D) with kernel_size={self.kernel_size[0]} and dilation_rate="
                f"{self.dilation_rate[0]} spans {self._window} steps, but its input has only {steps} steps "
                f"(shape {format_shape(input_shape)}), so padding='valid' leaves no output. Use padding='same' "
                "or 'causal', a smaller kernel_size, or longer input sequences.",
                self,
                input_shape,
            )

    def compute_output_shape(self, input_shape):
        steps_axis, _ = self._axes()
        steps = output_length(input_shape[steps_axis], self._window, self.strides[0], self.padding)
        if self.data_format == "channels_last":
            return (input_shape[0], steps, self.filters)
        return (input_shape[0], self.filters, steps)

    # ------------------------------------------------------------------ weights
    def build(self, input_shape):
        channels = input_shape[self._axes()[1]]
        # Keras layout (kernel_size, channels/groups, filters), so that the initializer's fans are Keras's.
        self.kernel = self._new_weight(
            self.kernel_size + (channels // self.groups, self.filters), self.kernel_initializer
        )
        self.bias = self._new_weight((self.filters,), self.bias_initializer) if self.use_bias else None

    def regularization_losses(self):
        return self._penalties((self.kernel_regularizer, self.kernel), (self.bias_regularizer, self.bias))

    # ------------------------------------------------------------------ computing
    def _padding_for(self, steps: int) -> tuple[int, int]:
        if self.padding == "causal":
            return self._window - 1, 0
        if self.padding == "same":
            return same_padding(steps, self._window, self.strides[0])
        return 0, 0

    def call(self, inputs):
        x = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs  # torch wants (N, C, L)
        left, right = self._padding_for(x.shape[-1])
        if left or right:
            x = F.pad(x, (left, right))
        # torch's weight layout is (filters, channels/groups, kernel_size): a permuted view of Keras's.
        y = F.conv1d(
            x, self.kernel.permute(2, 1, 0), self.bias, self.strides[0], 0, self.dilation_rate[0], self.groups
        )
        if self.data_format == "channels_last":
            y = y.transpose(1, 2)
        return self.activation(y)

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


Convolution1D = Conv1D  # Keras's alias
