"""Activation layers with Keras 3's arguments, defaults and math: ReLU, LeakyReLU, PReLU, ELU, Softmax,
and Keras 2's ThresholdedReLU.

Each maps an input of any shape ``(batch, ...)`` to an output of the same shape and passes a mask on.
Keras 2 code imports them from ``keras.layers.advanced_activations`` (``lstmkit.layers.advanced_activations``).
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import torch
import torch.nn.functional as F

from lstmkit import activations, constraints, initializers, regularizers
from lstmkit.layers.base import InputShapeError, Layer, format_shape
from lstmkit.utils.checks import check_number

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]


def _number(value, what: str, owner: str, allow_none: bool = False, minimum: float | None = 0.0):
    """``value`` as a float (or None where allowed); a ValueError naming ``owner`` otherwise."""
    return check_number(value, what, minimum, allow_none=allow_none, owner=owner)


class _Elementwise(Layer):
    """Shape-preserving, mask-passing layers."""

    supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise):
    """Rectified linear unit: ``x`` above ``threshold``, ``negative_slope * (x - threshold)`` below, the
    result capped at ``max_value`` (None: no cap). Defaults give ``max(x, 0)``; ``ReLU(6.0)`` is relu6.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _number(negative_slope, "negative_slope", "ReLU")
        self.threshold = _number(threshold, "threshold", "ReLU")

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below. Keras 3's default slope is 0.3 (the
    ``leaky_relu`` activation function's is 0.2). Keras 2's ``alpha=`` is accepted for ``negative_slope``.
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        if alpha is not None:
            warnings.warn(
                "LeakyReLU: the argument `alpha` is Keras 2's name; Keras 3 calls it `negative_slope`. Using "
                f"negative_slope={alpha}.",
                DeprecationWarning,
                stacklevel=2,
            )
            negative_slope = alpha
        if negative_slope is None:
            raise ValueError("LeakyReLU: negative_slope cannot be None. Received: negative_slope=None")
        self.negative_slope = _number(negative_slope, "negative_slope", "LeakyReLU")

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha", "ELU", minimum=None)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(_Elementwise):
    """Keras 2's ``x`` where ``x > theta``, else 0 (Keras 3 removed it: ``ReLU(threshold=theta)`` is the same
    for ``theta >= 0``)."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _number(theta, "theta", "ThresholdedReLU")

    def call(self, inputs):
        return inputs * (inputs > self.theta).to(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class PReLU(_Elementwise):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` below, with ``alpha`` learned.

    Input ``(batch, d1, ..., dn)``. Weight (Keras layout): ``alpha (d1, ..., dn)``, with size 1 on each axis
    in ``shared_axes`` (numbered from 1, the batch axis being 0): ``shared_axes=[1, 2]`` on images
    ``(batch, rows, cols, channels)`` learns one alpha per channel.
    """

    constraint_arguments: ClassVar[dict] = {"alpha": "alpha_constraint"}

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    "PReLU: shared_axes must be axis numbers >= 1 (axis 0 is the batch axis), e.g. shared_axes=[1, 2]. "
                    f"Received: shared_axes={shared_axes!r}"
                )
            self.shared_axes = axes

    def check_input_shape(self, input_shape):
        ndim = len(input_shape)
        if self.shared_axes and max(self.shared_axes) >= ndim:
            raise InputShapeError(
                f"Layer '{self.name}' (PReLU) has shared_axes={self.shared_axes}, but its input of shape "
                f"{format_shape(input_shape)} has only axes 1..{ndim - 1} after the batch axis.",
                self,
                input_shape,
            )
        built = self.built_input_shape
        if built is not None:
            mismatch = len(built) != ndim or any(
                b != d
                for i, (b, d) in enumerate(zip(built, input_shape))
                if i and i not in (self.shared_axes or ())
            )
            if mismatch:
                raise InputShapeError(
                    f"Layer '{self.name}' (PReLU) was built for inputs of shape {format_shape(built)} (one alpha per "
                    f"value of the axes not in shared_axes); received shape {format_shape(input_shape)}.",
                    self,
                    input_shape,
                )

    def _alpha_shape(self, input_shape) -> tuple:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        if None in shape:
            raise InputShapeError(
                f"Layer '{self.name}' (PReLU) learns one alpha per value, so every axis not in shared_axes must have a "
                f"known size; received input shape {format_shape(input_shape)}. Add the unknown axes to shared_axes.",
                self,
                input_shape,
            )
        return tuple(shape)

    def build(self, input_shape):
        self.alpha = self._new_weight(self._alpha_shape(input_shape), self.alpha_initializer)

    def call(self, inputs):
        if inputs.dim() != self.alpha.dim() + 1 or any(
            a != 1 and a != d for a, d in zip(self.alpha.shape, inputs.shape[1:])
        ):
            self.check_input_shape((None,) + tuple(inputs.shape[1:]))  # raises the explanatory error
        return torch.where(inputs >= 0, inputs, self.alpha * inputs)

    def regularization_losses(self):
        return self._penalties((self.alpha_regularizer, getattr(self, "alpha", None)))

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class Softmax(_Elementwise):
    """Softmax over ``axis`` (an int, or a tuple of axes normalized together).

    ``call(inputs, mask=None)``: where ``mask`` is False the input is treated as a very large negative
    number and the output is 0 (Keras 3), so masked positions take no probability. A mask of one rank less
    than the input (e.g. ``(batch, timesteps)`` from an Embedding) masks whole rows.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(
                f"Softmax: axis must be an integer or a tuple of integers. Received: axis={axis!r}"
            )
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def check_input_shape(self, input_shape):
        ndim = len(input_shape)
        for a in self.axis if isinstance(self.axis, tuple) else (self.axis,):
            if not -ndim <= a < ndim or a % ndim == 0:
                raise InputShapeError(
                    f"Layer '{self.name}' (Softmax) has axis={self.axis!r}, which is not a non-batch axis of its "
                    f"{ndim}-D input of shape {format_shape(input_shape)}. Use an axis in 1..{ndim - 1} or -{ndim - 1}..-1.",
                    self,
                    input_shape,
                )

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = self._broadcast_mask(mask, inputs)
            # Keras's "large negative number": exp() of it is 0, and it stays finite in float16.
            large_negative = -3e4 if inputs.dtype == torch.float16 else -1e9
            inputs = torch.where(
                mask, inputs, torch.full((), large_negative, dtype=inputs.dtype, device=inputs.device)
            )
        if isinstance(self.axis, tuple) and len(self.axis) > 1:
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, tuple) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = torch.where(mask, outputs, torch.zeros((), dtype=outputs.dtype, device=outputs.device))
        return outputs

    def _broadcast_mask(self, mask, inputs):
        mask = mask if mask.dtype == torch.bool else mask > 0.5
        if mask.dim() == inputs.dim() - 1 and tuple(mask.shape) == tuple(inputs.shape[:-1]):
            mask = mask.unsqueeze(-1)
        try:
            torch.broadcast_shapes(tuple(mask.shape), tuple(inputs.shape))
        except RuntimeError:
            raise ValueError(
                f"Layer '{self.name}' (Softmax): the mask must broadcast to the inputs; received inputs of shape "
                f"{tuple(inputs.shape)} and a mask of shape {tuple(mask.shape)}."
            ) from None
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
        }
