"""Layers kept in list and dict attributes belong to the layer that holds them, as in Keras.

``self.blocks = [Dense(8), Dense(8)]`` or ``self.heads = {"a": Dense(1)}`` in a custom layer or model:
torch would not see those layers (only direct attributes are registered), so their weights would be
missing from ``weights``, the optimizer and saved files. The holder's ``__setattr__`` replaces such a
list or dict by a ``TrackedList``/``TrackedDict`` (a real ``list``/``dict``) and registers the layers
in it under the attribute's name; later ``append``/``extend``/item assignments keep the registration in
step, so the common ``self.blocks = []`` then ``self.blocks.append(...)`` works too.
"""

from __future__ import annotations

import re
import weakref

import torch

__all__ = ["Tracked", "TrackedDict", "TrackedList", "track"]


class _Holder(torch.nn.Module):
    """The registered stand-in for a tracked list/dict: its children are the layers in it."""

    def forward(self, *args, **kwargs):  # pragma: no cover - never called
        raise TypeError("A tracked container of layers is not callable.")


def _module_key(key) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", str(key)) or "_"


class Tracked:
    """Mixin: calls ``sync`` after every change."""

    def _bind(self, owner, name: str):
        self._owner, self._name = weakref.ref(owner), name
        return self

    def _sync(self):
        owner = self._owner() if hasattr(self, "_owner") else None
        if owner is not None:
            _register(owner, self._name, self)


def _mutating(base: type, method_name: str):
    unbound = getattr(base, method_name)

    def method(self, *args, **kwargs):
        result = unbound(self, *args, **kwargs)
        self._sync()
        return self if method_name.startswith("__i") else result

    method.__name__ = method_name
    return method


class TrackedList(Tracked, list):
    """A list attribute of a layer; layers in it are part of the layer."""


class TrackedDict(Tracked, dict):
    """A dict attribute of a layer; layers in it are part of the layer."""


for _method in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(TrackedList, _method, _mutating(list, _method))
for _method in ("__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(TrackedList, _method, _mutating(list, _method))
for _method in ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update", "setdefault"):
    setattr(TrackedDict, _method, _mutating(dict, _method))


def _modules_in(container) -> list[tuple[str, torch.nn.Module]]:
    items = container.items() if isinstance(container, dict) else enumerate(container)
    return [(_module_key(k), v) for k, v in items if isinstance(v, torch.nn.Module)]


def _register(owner, name: str, container) -> None:
    holder = _Holder()
    for key, module in _modules_in(container):
        holder.add_module(key, module)
    owner._modules[name] = holder
    if hasattr(owner, "_structure_changed"):
        owner._structure_changed()


def track(owner, name: str, value):
    """What ``owner.name = value`` should store: a tracked container when ``value`` is a list or dict that
    holds (or may later hold) layers not registered otherwise; ``value`` itself in every other case."""
    if type(value) not in (list, dict) or name.startswith("_"):
        return value
    modules = _modules_in(value)
    registered = {id(m) for m in owner._modules.values()}
    if value and (not modules or all(id(m) in registered for _, m in modules)):
        return value  # plain data, or layers the owner already registers itself
    tracked = (TrackedList(value) if isinstance(value, list) else TrackedDict(value))._bind(owner, name)
    if modules:
        _register(owner, name, tracked)
    return tracked
