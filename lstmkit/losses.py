"""Loss functions with Keras 3's names, aliases, defaults and math.

A loss *function* ``fn(y_true, y_pred)`` returns one value per sample (per timestep for sequence
outputs): the mean (or, for crossentropies, the sum) over the last axis. A loss *object*
(``MeanSquaredError()``...) also reduces: by default to the mean over all those values
('sum_over_batch_size'), optionally weighted.

Crossentropies stay finite for saturated sigmoid/softmax outputs: when ``y_pred`` comes straight
from a sigmoid or softmax, they compute from its logits (as Keras does on TensorFlow); otherwise
probabilities are clipped to ``[1e-7, 1 - 1e-7]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lstmkit.backend import epsilon
from lstmkit.utils.naming import lookup

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]


def _logits_of(y_pred, from_logits: bool):
    """(tensor, is_logits): the logits behind a sigmoid/softmax output when they are known."""
    if from_logits:
        return y_pred, True
    logits = getattr(y_pred, "_keras_logits", None)
    return (logits, True) if logits is not None else (y_pred, False)


# ---------------------------------------------------------------------------- regression
def mean_squared_error(y_true, y_pred):
    return torch.square(y_pred - y_true).mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    return torch.abs(y_pred - y_true).mean(dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=epsilon()))
    return 100.0 * diff.mean(dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    first = torch.log1p(torch.clamp(y_pred, min=epsilon()))
    second = torch.log1p(torch.clamp(y_true, min=epsilon()))
    return torch.square(first - second).mean(dim=-1)


def huber(y_true, y_pred, delta=1.0):
    err = torch.abs(y_pred - y_true)
    quadratic = 0.5 * torch.square(err)
    linear = delta * err - 0.5 * delta * delta
    return torch.where(err <= delta, quadratic, linear).mean(dim=-1)


def log_cosh(y_true, y_pred):
    x = y_pred - y_true
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(dim=-1)


def poisson(y_true, y_pred):
    return (y_pred - y_true * torch.log(y_pred + epsilon())).mean(dim=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    return -(F.normalize(y_true, dim=axis) * F.normalize(y_pred, dim=axis)).sum(dim=axis)


def kl_divergence(y_true, y_pred):
    y_true = torch.clamp(y_true, epsilon(), 1.0)
    y_pred = torch.clamp(y_pred, epsilon(), 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


# ---------------------------------------------------------------------------- classification
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    values, is_logits = _logits_of(y_pred, from_logits)
    if is_logits:
        per_unit = F.binary_cross_entropy_with_logits(values, y_true, reduction="none")
    else:
        p = torch.clamp(values, epsilon(), 1.0 - epsilon())
        per_unit = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return per_unit.mean(dim=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        classes = y_pred.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    values, is_logits = _logits_of(y_pred, from_logits)
    if is_logits:
        log_p = torch.log_softmax(values, dim=-1)
    else:
        p = values / values.sum(dim=-1, keepdim=True)
        log_p = torch.log(torch.clamp(p, epsilon(), 1.0 - epsilon()))
    return -(y_true * log_p).sum(dim=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """``y_true`` holds class indices, shape ``y_pred.shape[:-1]`` (a trailing axis of 1 is allowed)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    labels = y_true.long().unsqueeze(-1)
    values, is_logits = _logits_of(y_pred, from_logits)
    if is_logits:
        log_p = torch.log_softmax(values, dim=-1)
    else:
        p = values / values.sum(dim=-1, keepdim=True)
        log_p = torch.log(torch.clamp(p, epsilon(), 1.0 - epsilon()))
    return -log_p.gather(-1, labels).squeeze(-1)


def _hinge_labels(y_true):
    """Keras maps labels that are all 0/1 to -1/+1; the test runs on the device (no host sync)."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    return torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0).mean(dim=-1)


def squared_hinge(y_true, y_pred):
    return torch.square(torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0)).mean(dim=-1)


def categorical_hinge(y_true, y_pred):
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return torch.clamp(negative - positive + 1.0, min=0.0)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber

# What kind of problem a loss is for: 'accuracy' makes sense only for classification losses.
REGRESSION_LOSSES = {
    mean_squared_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    huber,
    log_cosh,
    poisson,
    cosine_similarity,
}


# ---------------------------------------------------------------------------- loss objects
_REDUCTIONS = ("sum_over_batch_size", "auto", "sum", "none", "mean")


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning per-sample values."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Unknown reduction {reduction!r}. Expected one of {_REDUCTIONS}.")
        self.name = name or type(self).__name__
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's reduction: weights multiply the values; 'sum_over_batch_size' divides by their count."""
    if sample_weight is not None:
        weight = sample_weight.to(values.dtype)
        while weight.dim() < values.dim():
            weight = weight.unsqueeze(-1)
        values = values * weight
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean()


class LossFunctionWrapper(Loss):
    """A Loss object around a per-sample loss function and its keyword arguments."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", dtype=None, **fn_kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def _simple_loss(fn, class_name, default_name):
    """A Loss class for ``fn`` taking only (reduction, name, dtype)."""

    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, dtype=dtype)

    doc = f"Loss object for ``{fn.__name__}``: per-sample values reduced by ``reduction``."
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc})


MeanSquaredError = _simple_loss(mean_squared_error, "MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _simple_loss(mean_absolute_error, "MeanAbsoluteError", "mean_absolute_error")
MeanAbsolutePercentageError = _simple_loss(
    mean_absolute_percentage_error, "MeanAbsolutePercentageError", "mean_absolute_percentage_error"
)
MeanSquaredLogarithmicError = _simple_loss(
    mean_squared_logarithmic_error, "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error"
)
Hinge = _simple_loss(hinge, "Hinge", "hinge")
SquaredHinge = _simple_loss(squared_hinge, "SquaredHinge", "squared_hinge")
CategoricalHinge = _simple_loss(categorical_hinge, "CategoricalHinge", "categorical_hinge")
KLDivergence = _simple_loss(kl_divergence, "KLDivergence", "kl_divergence")
Poisson = _simple_loss(poisson, "Poisson", "poisson")
LogCosh = _simple_loss(log_cosh, "LogCosh", "log_cosh")


class BinaryCrossentropy(LossFunctionWrapper):
    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    def __init__(
        self,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
        )


class Huber(LossFunctionWrapper):
    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)


_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        Huber,
        KLDivergence,
        Poisson,
        LogCosh,
        CosineSimilarity,
    )
}

_BY_NAME = {
    "mean_squared_error": mean_squared_error,
    "mse": mse,
    "MSE": mse,
    "mean_absolute_error": mean_absolute_error,
    "mae": mae,
    "MAE": mae,
    "mean_absolute_percentage_error": mape,
    "mape": mape,
    "MAPE": mape,
    "mean_squared_logarithmic_error": msle,
    "msle": msle,
    "MSLE": msle,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "huber": huber,
    "huber_loss": huber,
    "kl_divergence": kld,
    "kld": kld,
    "KLD": kld,
    "kullback_leibler_divergence": kld,
    "poisson": poisson,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "cosine_similarity": cosine_similarity,
}


def get(identifier):
    """A loss from a name or alias ('mse'), a class, a Loss object, a config dict, or a callable."""
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        return lookup("loss", identifier, _BY_NAME)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret loss {identifier!r}. Pass a name such as 'mean_squared_error', a Loss object "
        "such as BinaryCrossentropy(), or a callable (y_true, y_pred) -> loss."
    )


def base_function(loss):
    """The per-sample function behind a loss name, function or wrapper object (None if unknown)."""
    return getattr(loss, "fn", loss)


def serialize(loss):
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    for name, fn in _BY_NAME.items():
        if fn is loss:
            return name
    return getattr(loss, "__name__", repr(loss))


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return get(config)
    table = {**_CLASSES, **(custom_objects or {})}
    return lookup("loss", config["class_name"], table).from_config(config.get("config", {}))
