"""Weight regularizers (Keras names and defaults): a penalty on a weight added to the training loss.

``L1(l1)(w) = l1 * sum(|w|)``, ``L2(l2)(w) = l2 * sum(w**2)``, ``L1L2`` both. The Keras 2 spellings
``l1(0.01)``, ``l2(0.01)``, ``l1_l2(l1=0.01, l2=0.01)`` and ``l2(l=0.01)`` work too.
"""

from __future__ import annotations

import torch

from lstmkit.utils.custom_objects import all_custom_objects
from lstmkit.utils.naming import lookup

__all__ = ["L1", "L1L2", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2", "serialize"]


class Regularizer:
    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _factor(value, what):
    value = float(value)
    if value < 0:
        raise ValueError(f"{what} must be >= 0. Received: {what}={value}")
    return value


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, weight):
        penalty = weight.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * weight.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * weight.square().sum()
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01, l=None):
        super().__init__(l1=l if l is not None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01, l=None):
        super().__init__(l2=l if l is not None else l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2, **_CLASSES}


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return lookup("regularizer", identifier, _BY_NAME)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret regularizer {identifier!r}. Use e.g. l2(0.01) or 'l2'.")


def serialize(reg):
    return None if reg is None else {"class_name": type(reg).__name__, "config": reg.get_config()}


def deserialize(config, custom_objects=None):
    if config is None:
        return None
    table = {**_CLASSES, **all_custom_objects(custom_objects)}
    return lookup("regularizer", config["class_name"], table).from_config(config.get("config", {}))
