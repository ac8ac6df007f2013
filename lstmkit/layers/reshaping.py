"""Layers that only rearrange values: Flatten, Reshape, Permute, RepeatVector.

Shapes exclude the batch axis in the arguments (``Reshape((4, 2))``, ``Permute((2, 1))``), as in
Keras; the batch axis is never moved. Like Keras, none of them passes a mask on.
"""

from __future__ import annotations

import math

import numpy as np

from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.layers.conv import check_rank, data_format_mode, positive_int

__all__ = ["Flatten", "Permute", "RepeatVector", "Reshape"]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, d1, d2, ...)`` -> ``(batch, d1 * d2 * ...)``.

    A ``(batch,)`` input becomes ``(batch, 1)``. With ``data_format='channels_first'`` the channels
    axis (axis 1) is moved last before flattening, so the order of values matches channels_last data.
    """

    min_ndim = 1

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_mode(data_format, "Flatten")

    def check_input_shape(self, input_shape):
        if len(input_shape) < 1:
            raise InputShapeError(
                f"Layer '{self.name}' (Flatten) needs an input with a batch axis.", self, input_shape, 1
            )

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if None in rest else math.prod(rest)
        return (input_shape[0], size)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.permute(0, *range(2, inputs.dim()), 1)
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Gives each sample the shape ``target_shape`` (batch axis excluded); one entry may be -1, meaning
    "whatever is left". Input ``(batch, ...)`` -> output ``(batch, *target_shape)``.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if _is_int(target_shape):
            target_shape = (target_shape,)
        try:
            dims = tuple(target_shape)
        except TypeError:
            raise TypeError(
                f"Reshape: target_shape must be a tuple of positive integers (one may be -1), the shape of one "
                f"sample without the batch axis, e.g. Reshape((4, 2)). Received: target_shape={target_shape!r}"
            ) from None
        if not all(_is_int(d) and (d >= 1 or d == -1) for d in dims):
            raise ValueError(
                f"Reshape: target_shape must contain positive integers and at most one -1. Received: "
                f"target_shape={target_shape!r}"
            )
        if sum(d == -1 for d in dims) > 1:
            raise ValueError(
                f"Reshape: target_shape may contain at most one -1 (the one size Reshape works out). Received: "
                f"target_shape={target_shape!r}"
            )
        self.target_shape = tuple(int(d) for d in dims)

    def _resolve(self, sample_shape: tuple, full_shape: tuple) -> tuple:
        """``target_shape`` with -1 worked out; None where the input size is unknown."""
        target = self.target_shape
        if None in sample_shape:
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(sample_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if size % known:
                raise InputShapeError(
                    f"Layer '{self.name}' (Reshape) cannot reshape an input of shape {format_shape(full_shape)} "
                    f"({size} values per sample) to target_shape={format_shape(target)}: {size} is not divisible "
                    f"by {known}, the product of the other sizes.",
                    self,
                    full_shape,
                )
            return tuple(size // known if d == -1 else d for d in target)
        if size != known:
            raise InputShapeError(
                f"Layer '{self.name}' (Reshape) cannot reshape an input of shape {format_shape(full_shape)} "
                f"({size} values per sample) to target_shape={format_shape(target)} ({known} values). The number "
                "of values must stay the same; use -1 for one size to have it worked out.",
                self,
                full_shape,
            )
        return target

    def check_input_shape(self, input_shape):
        self._resolve(tuple(input_shape[1:]), tuple(input_shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]), tuple(input_shape))

    def call(self, inputs):
        target = self._resolve(tuple(inputs.shape[1:]), (None,) + tuple(inputs.shape[1:]))
        return inputs.reshape((inputs.shape[0],) + target)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Reorders the non-batch axes: ``dims`` numbers them from 1 (the batch axis is 0 and stays first).

    ``Permute((2, 1))`` turns ``(batch, steps, features)`` into ``(batch, features, steps)``.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            given = tuple(dims)
        except TypeError:
            raise TypeError(
                f"Permute: dims must be a tuple such as (2, 1), numbering the axes from 1 (the batch axis is not "
                f"included). Received: dims={dims!r}"
            ) from None
        if not all(_is_int(d) for d in given) or sorted(given) != list(range(1, len(given) + 1)):
            raise ValueError(
                f"Permute: dims must be an ordering of 1..{len(given)} (axes are numbered from 1; the batch axis 0 "
                f"stays first), e.g. (2, 1). Received: dims={dims!r}"
            )
        self.dims = tuple(int(d) for d in given)
        self.expected_ndim = len(self.dims) + 1
        self.input_axes = "(batch, " + ", ".join(f"axis{i}" for i in range(1, self.expected_ndim)) + ")"

    def check_input_shape(self, input_shape):
        check_rank(
            self, input_shape, f" dims={self.dims} permutes {len(self.dims)} axes after the batch axis."
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats each input vector ``n`` times: ``(batch, features)`` -> ``(batch, n, features)``.

    Used between an encoder (an LSTM without return_sequences) and a decoder in seq2seq models.
    """

    expected_ndim = 2
    input_axes = "(batch, features)"

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(n, "n", "RepeatVector")

    def check_input_shape(self, input_shape):
        hint = ""
        if len(input_shape) == 3:
            hint = (
                " RepeatVector repeats one vector per sample: if the layer before it is recurrent, set "
                "return_sequences=False on that layer so that it outputs (batch, units)."
            )
        check_rank(self, input_shape, hint)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        # A real copy, not a stride-0 view: later layers may need contiguous memory.
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
