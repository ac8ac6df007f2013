"""Weight constraints (``keras.constraints``): projections applied to a weight after every optimizer update.

``Dense(10, kernel_constraint=MaxNorm(3))``, ``LSTM(..., recurrent_constraint=...)``,
``add_weight(..., constraint=NonNeg())``. A constraint sees the weight in Keras's layout (e.g. a Dense
kernel (input_dim, units), so ``axis=0`` constrains each unit's incoming weights), whatever layout
lstmkit stores it in.
"""

from __future__ import annotations

import torch

from lstmkit import backend
from lstmkit.utils.naming import lookup

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]


class Constraint:
    """Base class: ``constraint(weight) -> projected weight``; ``get_config`` for saving."""

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return weight

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(weight, axis):
    return torch.sqrt(torch.sum(weight * weight, dim=axis, keepdim=True))


class MaxNorm(Constraint):
    """Scales down the weights whose L2 norm along ``axis`` exceeds ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, weight):
        norms = _norms(weight, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return weight * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, weight):
        return weight * (weight >= 0).to(weight.dtype)


class UnitNorm(Constraint):
    """Rescales the weights to unit L2 norm along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, weight):
        return weight / (backend.epsilon() + _norms(weight, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each norm along ``axis`` into [min_value, max_value], by the fraction ``rate`` of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, weight):
        norms = _norms(weight, self.axis)
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return weight * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = {cls.__name__: cls for cls in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_BY_NAME = {
    "max_norm": MaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm,
    **_CLASSES,
}


def get(identifier):
    """A constraint from None, a name ('max_norm'), a config dict, a class, an object or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return lookup("constraint", identifier, _BY_NAME)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret constraint {identifier!r}. Use e.g. MaxNorm(3) or 'non_neg'.")


def serialize(constraint):
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    return getattr(constraint, "__name__", repr(constraint))


def deserialize(config, custom_objects=None):
    if config is None:
        return None
    if isinstance(config, str):
        from lstmkit.utils.custom_objects import get_registered_object

        found = get_registered_object(config, custom_objects)
        return found if found is not None else get(config)
    from lstmkit.utils.custom_objects import all_custom_objects

    table = {**_CLASSES, **all_custom_objects(custom_objects)}
    return lookup("constraint", config["class_name"], table).from_config(config.get("config", {}))
