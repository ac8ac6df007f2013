"""Optimizers at Keras's path (``lstmkit.optimizers.Adam``), with Keras 3's defaults and update math."""

from __future__ import annotations

from lstmkit.optimizers import schedules
from lstmkit.optimizers.adam import Adam, Adamax, AdamW, Nadam
from lstmkit.optimizers.base import Optimizer
from lstmkit.optimizers.lion import Lion
from lstmkit.optimizers.rmsprop import Adadelta, Adagrad, RMSprop
from lstmkit.optimizers.sgd import SGD
from lstmkit.utils.naming import lookup

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]

_CLASSES = {cls.__name__: cls for cls in (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion)}
_BY_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier) -> Optimizer:
    """A fresh optimizer from a name ('adam'), a class, a config dict, or the object itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        table = {**_BY_NAME, **_CLASSES}
        return lookup("optimizer", identifier, table)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise TypeError(
        f"Could not interpret optimizer {identifier!r} (type {type(identifier).__name__}). Pass a name such "
        "as 'adam' or an optimizer object such as lstmkit.optimizers.SGD(learning_rate=0.1)."
    )


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects=None) -> Optimizer:
    table = {**_CLASSES, **(custom_objects or {})}
    cls = lookup("optimizer", config["class_name"], table)
    options = dict(config.get("config", {}))
    rate = options.get("learning_rate")
    if isinstance(rate, dict):
        schedule_cls = lookup(
            "learning-rate schedule",
            rate["class_name"],
            {n: getattr(schedules, n) for n in schedules.__all__},
        )
        options["learning_rate"] = schedule_cls.from_config(rate["config"])
    return cls.from_config(options)
