"""BatchNormalization and LayerNormalization, with Keras 3's defaults and math.

BatchNormalization, for features on ``axis`` (the last by default):

* training (``fit``): normalize with the batch's mean and *biased* variance (divided by n) over every
  other axis, and update ``moving = moving * momentum + batch_statistic * (1 - momentum)`` for the mean
  and for the variance, both with the same biased variance (Keras 3 does not apply Bessel's correction,
  unlike torch.nn.BatchNorm);
* inference (``evaluate``, ``predict``), or a frozen layer (``trainable=False``, as in Keras): use the
  moving statistics.

Either way ``y = (x - mean) / sqrt(variance + epsilon) * gamma + beta``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit import initializers, regularizers
from lstmkit.layers.base import InputShapeError, KerasWeight, Layer, format_shape
from lstmkit.utils.checks import check_int, check_number

__all__ = ["BatchNormalization", "LayerNormalization"]

_MASK_EPSILON = 1e-7  # Keras adds backend.epsilon() to the count of unmasked values.


def _number(value, what: str, owner: str, low: float, high: float | None = None) -> float:
    return check_number(value, what, low, high, owner=owner)


def _axis_int(value, owner: str) -> int:
    return check_int(value, "axis", None, owner=owner, meaning="e.g. -1 for the last axis")


def _view(layer_name: str, name: str, tensor: torch.Tensor, trainable: bool) -> KerasWeight:
    def write(value, tensor=tensor):
        tensor.copy_(value.to(dtype=tensor.dtype, device=tensor.device))

    return KerasWeight(f"{layer_name}/{name}", tuple(tensor.shape), lambda: tensor, write, trainable)


def _resolve_axes(layer: Layer, axes: list[int], input_shape: tuple) -> list[int]:
    ndim = len(input_shape)
    resolved = []
    for axis in axes:
        if not -ndim <= axis < ndim or axis % ndim == 0:
            raise InputShapeError(
                f"Layer '{layer.name}' ({type(layer).__name__}) has axis={axis}, which is not a feature axis of "
                f"its {ndim}-D input of shape {format_shape(input_shape)}: use an axis from 1 to {ndim - 1} "
                f"(or -1 for the last; axis 0 is the batch axis).",
                layer,
                input_shape,
            )
        resolved.append(axis % ndim)
    for axis in resolved:
        if input_shape[axis] is None:
            raise InputShapeError(
                f"Layer '{layer.name}' ({type(layer).__name__}) needs the size of axis {axis} to be known; received "
                f"input shape {format_shape(input_shape)}.",
                layer,
                input_shape,
            )
    return sorted(resolved)


class _Normalization(Layer):
    """The parts shared by both: gamma/beta, axis checks against the built shape, regularizers."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)  # the shape is kept

    supports_masking = True

    def _axes_for(self, input_shape) -> list[int]:
        raise NotImplementedError

    def check_input_shape(self, input_shape):
        axes = self._axes_for(input_shape)
        built = self.built_input_shape
        if built is not None and (
            len(built) != len(input_shape) or any(built[a] != input_shape[a] for a in axes)
        ):
            raise InputShapeError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for inputs of shape {format_shape(built)} "
                f"(normalized axes {axes}); received shape {format_shape(input_shape)}.",
                self,
                input_shape,
            )

    def _make_affine(self, shape):
        self.gamma = self._new_weight(shape, self.gamma_initializer) if self.scale else None
        self.beta = self._new_weight(shape, self.beta_initializer) if self.center else None

    def regularization_losses(self):
        return self._penalties(
            (self.gamma_regularizer, getattr(self, "gamma", None)),
            (self.beta_regularizer, getattr(self, "beta", None)),
        )

    def _affine_config(self):
        return {
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }


class BatchNormalization(_Normalization):
    """Normalizes each feature on ``axis`` over the batch (and every other axis); see the module notes.

    Input of any rank >= 2, e.g. ``(batch, features)`` or ``(batch, timesteps, features)``; output the
    same shape. Weights (Keras order): ``gamma``, ``beta`` (trainable, each ``(features,)``), then
    ``moving_mean``, ``moving_variance`` (non-trainable). With a mask (batch, timesteps) the batch
    statistics use unmasked timesteps only.
    """

    min_ndim = 2

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = _axis_int(axis, "BatchNormalization")
        self.momentum = _number(momentum, "momentum", "BatchNormalization", 0.0, 1.0)
        self.epsilon = _number(epsilon, "epsilon", "BatchNormalization", 0.0)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def _axes_for(self, input_shape):
        if len(input_shape) < 2:
            raise InputShapeError(
                f"Layer '{self.name}' (BatchNormalization) expects input with at least 2 dimensions (batch, "
                f"features); received shape {format_shape(input_shape)}.",
                self,
                input_shape,
                2,
            )
        return _resolve_axes(self, [self.axis], input_shape)

    def build(self, input_shape):
        (axis,) = self._axes_for(input_shape)
        shape = (input_shape[axis],)
        self._make_affine(shape)
        # Buffers, not parameters: the optimizer never sees them. Made outside any inference_mode so that
        # fit() may update them in place later.
        with torch.inference_mode(False):
            self.register_buffer("moving_mean", self.moving_mean_initializer(shape, dtype=self.compute_dtype))
            self.register_buffer(
                "moving_variance", self.moving_variance_initializer(shape, dtype=self.compute_dtype)
            )

    def keras_weights(self):
        weights = []
        if self.scale:
            weights.append(_view(self.name, "gamma", self.gamma, True))
        if self.center:
            weights.append(_view(self.name, "beta", self.beta, True))
        weights.append(_view(self.name, "moving_mean", self.moving_mean, False))
        weights.append(_view(self.name, "moving_variance", self.moving_variance, False))
        return weights

    def _moments(self, inputs, mask, reduce):
        if mask is None:
            variance, mean = torch.var_mean(inputs, dim=reduce, correction=0)
            return mean, variance
        if mask.dim() != inputs.dim() - 1:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization): the mask must have one axis less than the input; received "
                f"a mask of shape {format_shape(mask.shape)} for an input of shape {format_shape(inputs.shape)}."
            )
        keep = mask.to(torch.bool).unsqueeze(-1).expand_as(inputs)
        zero = torch.zeros((), dtype=inputs.dtype, device=inputs.device)
        count = keep.to(inputs.dtype).sum(dim=reduce, keepdim=True) + _MASK_EPSILON
        mean = torch.where(keep, inputs, zero).sum(dim=reduce, keepdim=True) / count
        variance = torch.where(keep, inputs - mean, zero).square().sum(dim=reduce, keepdim=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def call(self, inputs, mask=None, training=False):
        axis = self.axis % inputs.dim()
        reduce = [d for d in range(inputs.dim()) if d != axis]
        if training and self.trainable:
            mean, variance = self._moments(inputs, mask, reduce)
            with torch.no_grad():
                momentum = self.momentum
                self.moving_mean.copy_(self.moving_mean * momentum + mean.detach() * (1.0 - momentum))
                self.moving_variance.copy_(
                    self.moving_variance * momentum + variance.detach() * (1.0 - momentum)
                )
        else:
            mean, variance = self.moving_mean, self.moving_variance
        # Keras's (TensorFlow's) arrangement: x * (gamma / sqrt(var + eps)) + (beta - mean * gamma / sqrt(...)).
        inv = torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta
        shape = [1] * inputs.dim()
        shape[axis] = -1
        return inputs * inv.reshape(shape) + shift.reshape(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            **self._affine_config(),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }


class LayerNormalization(_Normalization):
    """Normalizes each sample over ``axis`` (the last by default; a list normalizes over several axes
    together): ``y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`` with the sample's own mean and
    biased variance, the same in training and inference.

    Input of any rank >= 2; output the same shape. Weights: ``gamma``, ``beta``, each of the shape of
    the normalized axes (``(features,)`` by default).
    """

    min_ndim = 2

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError("LayerNormalization: axis must name at least one axis. Received: axis=[]")
            self.axis = [_axis_int(a, "LayerNormalization") for a in axis]
        else:
            self.axis = _axis_int(axis, "LayerNormalization")
        self.epsilon = _number(epsilon, "epsilon", "LayerNormalization", 0.0)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def _axes_for(self, input_shape):
        if len(input_shape) < 2:
            raise InputShapeError(
                f"Layer '{self.name}' (LayerNormalization) expects input with at least 2 dimensions (batch, "
                f"features); received shape {format_shape(input_shape)}.",
                self,
                input_shape,
                2,
            )
        return _resolve_axes(self, self.axis if isinstance(self.axis, list) else [self.axis], input_shape)

    def build(self, input_shape):
        axes = self._axes_for(input_shape)
        self._make_affine(tuple(input_shape[a] for a in axes))

    def call(self, inputs):
        axes = self._axes_for(tuple(inputs.shape))
        ndim = inputs.dim()
        if axes == list(range(ndim - len(axes), ndim)):  # trailing axes: torch's fused kernel
            return F.layer_norm(
                inputs, tuple(inputs.shape[a] for a in axes), self.gamma, self.beta, self.epsilon
            )
        variance, mean = torch.var_mean(inputs, dim=axes, keepdim=True, correction=0)
        shape = [inputs.shape[d] if d in axes else 1 for d in range(ndim)]
        inv = torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma.reshape(shape)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta.reshape(shape)
        return inputs * inv + shift

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, **self._affine_config()}
