"""Layer configs: ``serialize(layer) -> {"class_name", "config"}`` and back.

Wrappers (Bidirectional, TimeDistributed, RNN with a cell) store their inner layer's serialized form in
their config and rebuild it with ``deserialize``. Classes are found among every Layer subclass that has
been imported (so lstmkit's own layers, and user layers defined before loading) and in
``custom_objects``, which wins on a name clash.
"""

from __future__ import annotations

import inspect

from lstmkit.layers.base import Layer
from lstmkit.utils.custom_objects import all_custom_objects
from lstmkit.utils.naming import lookup

__all__ = ["deserialize", "layer_classes", "serialize"]


def layer_classes() -> dict[str, type]:
    """Every imported Layer subclass by class name (lstmkit's own take precedence over look-alikes)."""
    found: dict[str, type] = {}
    pending = [Layer]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            own = sub.__module__.startswith("lstmkit.")
            if sub.__name__ not in found or own:
                found[sub.__name__] = sub
            pending.append(sub)
    return found


def serialize(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A new layer from ``{"class_name": ..., "config": {...}}``; unknown class names get a did-you-mean
    error that also says how to pass your own layer classes (``custom_objects={"MyLayer": MyLayer}``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"A layer config must be a dict with 'class_name' and 'config'. Received: {config!r}"
        )
    table = {**layer_classes(), **all_custom_objects(custom_objects)}
    name = config["class_name"]
    cls = lookup(
        "layer class",
        name,
        table,
        hint=f"If it is your own layer, pass it when loading: custom_objects={{{name!r}: {name}}}.",
    )
    layer_config = dict(config.get("config", {}))
    # lstmkit's from_config takes custom_objects (to rebuild inner layers); a user's may not.
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(layer_config, custom_objects=custom_objects)
    return cls.from_config(layer_config)
